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
	// floodWindows is how many windows in a row the queue must grow while
	// its wait stays above the budget before it is taken for a flood:
	// 150ms for the default budget. A closed population of clients grows
	// the queue once, when it arrives, and then holds it level; arrivals
	// that outrun the workers grow it in every window.
	floodWindows = 6
)

// admission is the waiting-budget rule of an Offloader. It tells a
// standing queue that grows (arrivals outrunning the workers: an open-loop
// flood) from one that is long but drained as fast as it fills (a closed
// population of clients, each waiting for its answer before it sends
// again), and sheds only the first: while it sees a flood, a request that
// waited past the budget is shed as its worker reaches it, and one
// arriving when the estimated wait is past hopeless budgets is refused at
// once; otherwise every request is served in FIFO order however long it
// waited, and only a full queue refuses one. Shedding a closed
// population's request does not lighten the load: its client sends it
// again at once, and the rejection costs CPU that the workers need.
//
// It watches the queue in windows of MaxWait/windowsPerBudget, lazily, on
// the arrivals themselves (it has no goroutine): in each window it keeps
// the lowest count of this Offloader's queued requests and the lowest
// estimated wait that arrivals saw. Lowest values ignore the arrivals
// bunched within a window and follow the level the queue keeps, as
// CoDel's minimum delay over an interval does. A flood is declared when
// the lowest count rose in floodWindows windows in a row, each with its
// lowest estimate above the budget; it ends with the first window whose
// lowest estimate is within the budget (the queue drained), or after a
// window without arrivals.
type admission struct {
	maxWait  time.Duration // < 0: the rule is off
	window   int64         // nanoseconds
	queueCap int64         // the pool's QueueSize, or < 0 for Unbounded

	waiting atomic.Int64 // this Offloader's requests in the queue
	flood   atomic.Bool
	over    atomic.Bool // an arrival in the current window was hopeless

	end  atomic.Int64 // the current window's end, Unix nanoseconds
	minQ atomic.Int64 // the current window's lowest count of waiting
	minE atomic.Int64 // the current window's lowest estimate, nanoseconds

	mu     sync.Mutex // held by the arrival that closes a window
	lastQ  int64      // the previous window's lowest count
	streak int        // windows in a row that grew above the budget
}

func newAdmission(maxWait time.Duration, queueCap int) *admission {
	a := &admission{maxWait: maxWait, window: max(int64(maxWait)/windowsPerBudget, 1), queueCap: int64(queueCap)}
	a.minQ.Store(math.MaxInt64)
	a.minE.Store(math.MaxInt64)
	return a
}

// enter decides on a request arriving when p estimates a wait of e. It
// reports whether the request may queue, and if so when it arrived; it
// then counts it as waiting until leave. A refusal reads no clock and
// allocates nothing.
//
// Outside a flood a request is refused only when the queue is full: a
// closed population's clients would come straight back, and a refusal
// that comes back at once costs the workers' CPU. In a flood one is also
// refused when its estimated wait is past hopeless budgets.
func (a *admission) enter(e time.Duration) (time.Time, bool) {
	full := a.queueCap >= 0 && a.waiting.Load() >= a.queueCap // full of this Offloader's requests alone
	if full || (a.maxWait >= 0 && e > hopeless*a.maxWait && a.flood.Load()) {
		if a.maxWait >= 0 && !a.over.Load() {
			a.over.Store(true) // the queue would have grown: the window grows
		}
		return time.Time{}, false
	}
	now := time.Now()
	q := a.waiting.Add(1)
	if a.maxWait >= 0 {
		a.observe(now.UnixNano(), q, int64(e))
	}
	return now, true
}

// refused tells a that the pool refused a request it let in: the queue
// was full of other requests too. The window counts as growing.
func (a *admission) refused() {
	a.leave()
	if a.maxWait >= 0 && !a.over.Load() {
		a.over.Store(true)
	}
}

// leave counts a request out of the queue: its task started, or its
// client left, or the pool refused it.
func (a *admission) leave() { a.waiting.Add(-1) }

// shed reports whether a request queued at enq is shed as its task
// starts at now.
func (a *admission) shed(enq, now time.Time) bool {
	if a.maxWait < 0 {
		return false
	}
	return now.Sub(enq) > a.maxWait && a.flood.Load()
}

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
	switch {
	case now-end >= a.window && !over:
		// A whole window passed without arrivals, or this is the first
		// window: not a flood, and nothing to compare with.
		a.streak = 0
		a.flood.Store(false)
	case e <= int64(a.maxWait):
		a.streak = 0
		a.flood.Store(false) // the queue drained to the budget
	case q > a.lastQ || over:
		a.streak++
		if a.streak >= floodWindows {
			a.flood.Store(true)
		}
	default:
		a.streak = 0
	}
	a.lastQ = q
	a.end.Store(now + a.window)
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

// queueCap returns the bound of p's queue, or -1 when it is unbounded.
func queueCap(p Pool) int {
	if c := p.Stats().QueueCap; c != pool.Unbounded {
		return c
	}
	return -1
}
