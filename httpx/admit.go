package httpx

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/pool"
)

// The admission rule's fixed ratios, in units of Options.MaxWait.
const (
	// hopeless is how many budgets of estimated wait get a request
	// rejected on arrival during a flood (and always by Handle and
	// Compute): past it the queue holds more than the workers can start
	// within the budget whatever happens.
	hopeless = 4
	// windowsPerBudget divides the budget into the windows over which the
	// queue is watched: 25ms for the default budget.
	windowsPerBudget = 10
	// floodWindows is how many windows in a row the queue must have grown
	// when its wait is above the budget for it to be taken for a flood:
	// 150ms for the default budget. A closed population of clients grows
	// the queue once, when it arrives, and then holds it level; arrivals
	// that outrun the workers grow it in every window. Each window is
	// compared with the one two before it, so that a burst that straddles
	// a window's end counts at most three times.
	floodWindows = 6
	// minSlack is the least growth, in requests over two windows, that
	// counts: a level queue's lowest count moves by a few requests from
	// window to window (clients between an answer and their next
	// request). The slack is MaxWorkers when that is larger.
	minSlack = 4
)

// admission is the waiting-budget rule of an Offloader. By default it
// sheds by the budget whatever the load: a request that waited past it is
// shed as its worker reaches it, and one arriving when the estimated wait
// is past hopeless budgets is refused at once. With
// Options.ShedOnlyFloods it tells a standing queue that grows (arrivals outrunning the workers: an open-loop
// flood) from one that is long but drained as fast as it fills (a closed
// population of clients, each waiting for its answer before it sends
// again), and sheds only the first: while it sees a flood, a request that
// waited past the budget is shed as its worker reaches it, and one
// arriving when the estimated wait is past hopeless budgets is refused at
// once; otherwise every request is served in FIFO order however long it
// waited, and only a full queue refuses one.
//
// It watches the queue in windows of MaxWait/windowsPerBudget, lazily, on
// the arrivals themselves (it has no goroutine): in each window it keeps
// the lowest count of this Offloader's queued requests and the lowest
// estimated wait that arrivals saw. Lowest values ignore the arrivals
// bunched within a window and follow the level the queue keeps, as
// CoDel's minimum delay over an interval does. A window rises when its
// lowest count is above the one two windows before by more than the
// slack, or when a request was refused in it (the queue would have
// grown). A flood is declared at the end of a window whose lowest
// estimate is above the budget, when it and the floodWindows-1 windows
// before it all rose; it ends with the first window whose lowest estimate
// is within half the budget (the queue drained), or after a whole budget
// without arrivals. Shedding holds a flood's queue at about the budget,
// and a load generator or a proxy that limits the requests in flight
// turns a flood into a closed population once it reaches that limit, so
// a flood that ended at a dip to the budget might not be recognised again.
type admission struct {
	maxWait  time.Duration // < 0: the rule is off
	always   bool          // shed by the budget whatever the load: Options.ShedOnlyFloods is off
	watch    bool          // the queue is watched for floods: a budget, and ShedOnlyFloods
	window   int64         // nanoseconds
	queueCap int64         // the pool's QueueSize, or < 0 for Unbounded

	waiting atomic.Int64 // this Offloader's requests in the queue
	flood   atomic.Bool
	over    atomic.Bool // an arrival in the current window was refused

	end  atomic.Int64 // the current window's end, Unix nanoseconds
	minQ atomic.Int64 // the current window's lowest count of waiting
	minE atomic.Int64 // the current window's lowest estimate, nanoseconds

	mu     sync.Mutex // held by the arrival that closes a window
	before [2]int64   // the lowest counts of the last two windows, newest first; -1 unknown
	streak int        // windows in a row that rose
	slack  int64      // growth that counts: more than the noise of a level queue
}

func newAdmission(maxWait time.Duration, onlyFloods bool, st pool.Stats) *admission {
	a := &admission{
		maxWait: maxWait, always: !onlyFloods, watch: maxWait >= 0 && onlyFloods, window: max(int64(maxWait)/windowsPerBudget, 1),
		queueCap: int64(st.QueueCap), slack: int64(max(minSlack, st.Max)),
		before: [2]int64{-1, -1},
	}
	if st.QueueCap == pool.Unbounded {
		a.queueCap = -1
	}
	a.minQ.Store(math.MaxInt64)
	a.minE.Store(math.MaxInt64)
	return a
}

// enter decides on a request arriving when p estimates a wait of e and
// holds queued tasks (pool.Tasks.Queued), its own or others'. It
// reports whether the request may queue, and if so when it arrived; it
// then counts it as waiting until leave, when the queue is watched for
// floods. A refusal reads no clock and allocates nothing.
//
// A request is refused when the queue is full, or when its estimated wait
// is past hopeless budgets and the budget applies (always, or in a flood
// under ShedOnlyFloods).
func (a *admission) enter(e time.Duration, queued int) (time.Time, bool) {
	full := a.queueCap >= 0 && int64(queued) >= a.queueCap
	if full || (a.maxWait >= 0 && e > hopeless*a.maxWait && a.flooding()) {
		if a.watch && !a.over.Load() {
			a.over.Store(true) // the queue would have grown: the window grows
		}
		return time.Time{}, false
	}
	now := time.Now()
	if a.watch {
		a.observe(now.UnixNano(), a.waiting.Add(1), int64(e))
	}
	return now, true
}

// refused tells a that the pool refused a request it let in: the queue
// was full of other requests too. The window counts as growing.
func (a *admission) refused() {
	a.leave()
	if a.watch && !a.over.Load() {
		a.over.Store(true)
	}
}

// leave counts a request out of the queue: its task started, or its
// client left, or the pool refused it.
func (a *admission) leave() {
	if a.watch {
		a.waiting.Add(-1)
	}
}

// shed reports whether a request queued at enq is shed as its task
// starts at now.
func (a *admission) shed(enq, now time.Time) bool {
	if a.maxWait < 0 {
		return false
	}
	return now.Sub(enq) > a.maxWait && a.flooding()
}

// flooding reports whether the budget applies now: always, unless
// Options.ShedOnlyFloods asked for floods only.
func (a *admission) flooding() bool { return a.always || a.flood.Load() }

// observe folds an arrival into the current window, and closes the
// window if it has ended.
func (a *admission) observe(now, q, e int64) {
	storeMin(&a.minQ, q)
	storeMin(&a.minE, e)
	if now >= a.end.Load() && a.mu.TryLock() {
		a.roll(now)
		a.mu.Unlock()
	}
}

// roll closes the window that ended before now and opens the next; a.mu
// is held.
func (a *admission) roll(now int64) {
	end := a.end.Load()
	if now < end {
		return // another arrival closed it meanwhile
	}
	q, e := a.minQ.Swap(math.MaxInt64), a.minE.Swap(math.MaxInt64)
	over := a.over.Swap(false)
	a.end.Store(now + a.window)
	if now-end >= int64(a.maxWait) && !over {
		// A whole budget without arrivals, or the first window: not a
		// flood, and nothing to compare with.
		a.reset(q)
		return
	}
	rising := over || (a.before[1] >= 0 && q > a.before[1]+a.slack)
	a.before[0], a.before[1] = q, a.before[0]
	if rising {
		a.streak++
	} else {
		a.streak = 0
	}
	switch {
	case e <= int64(a.maxWait)/2:
		a.flood.Store(false) // the queue drained to half the budget
	case e <= int64(a.maxWait):
		// Between half the budget and the budget: a flood goes on, and
		// none begins.
	case a.streak >= floodWindows:
		a.flood.Store(true)
	}
}

// reset forgets the queue's history, keeping q as the latest window's
// lowest count; a.mu is held.
func (a *admission) reset(q int64) {
	a.streak = 0
	a.flood.Store(false)
	a.before = [2]int64{q, -1}
}

// storeMin lowers v to x if x is lower.
func storeMin(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x >= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// admit reports whether a request may queue on p by the stateless form of
// the rule, which Handle and Compute apply: whether p's estimate of its
// wait is within hopeless budgets.
func (a *answers) admit(p Pool) bool {
	return a.opts.MaxWait < 0 || p.EstimatedWait() <= hopeless*a.opts.MaxWait
}
