package pool

import (
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/internal/histogram"
)

// counters are one slot's outcome counts. Each slot writes only its own, so
// updating them never contends. The latency histograms are the pool's (see
// latency.go).
type counters struct {
	completed, failed, panicked, canceled, timedOut atomic.Uint64
}

// add folds o into c.
func (c *counters) add(o *counters) {
	for _, pair := range [][2]*atomic.Uint64{
		{&c.completed, &o.completed}, {&c.failed, &o.failed}, {&c.panicked, &o.panicked},
		{&c.canceled, &o.canceled}, {&c.timedOut, &o.timedOut},
	} {
		pair[0].Add(pair[1].Load())
	}
}

// resolved is the number of tasks the counters saw end, however they ended.
func (c *counters) resolved() uint64 {
	return c.completed.Load() + c.failed.Load() + c.panicked.Load() + c.canceled.Load() + c.timedOut.Load()
}

// Latency summarises a distribution of durations. Percentiles are within
// 12.5% of the true value; Max is exact.
type Latency struct {
	// Count is the number of sampled tasks: every task until the pool has
	// timed 256, then one in 32, because reading the clock costs more than
	// a tiny task. The count is pool-wide, so a pool of many workers that
	// each run few tasks samples as sparsely as a small one.
	Count uint64
	// Mean is the average of the samples.
	Mean time.Duration
	// P50, P90 and P99 are percentiles of the samples; Max is the largest.
	P50, P90, P99, Max time.Duration
	// Sum is the total of the samples, exact.
	Sum time.Duration
	// Buckets count the samples at most each of a fixed set of bounds,
	// from 10µs to 1m (LatencyBounds), cumulatively, as a Prometheus
	// histogram does; a sample within the 12.5% resolution of the pool's
	// histograms may count toward a bound next to its own.
	Buckets []Bucket
}

// Bucket is one bound of a Latency and the number of samples at most it.
type Bucket struct {
	UpperBound time.Duration
	Count      uint64
}

// latencyBounds are the bounds of Latency.Buckets: the spread of CPU tasks
// and of their waits, from tiny ones to what a request can bear.
var latencyBounds = [...]time.Duration{
	10 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second, 30 * time.Second, time.Minute,
}

// LatencyBounds returns the bounds of Latency.Buckets, ascending. They are
// the same for every pool and every Stats, so a histogram built from them
// keeps its buckets from one scrape to the next.
func LatencyBounds() []time.Duration { return latencyBounds[:] }

func summary(s *histogram.Snapshot) Latency {
	counts := s.CountsAtMost(latencyBounds[:])
	buckets := make([]Bucket, len(counts))
	for i, n := range counts {
		buckets[i] = Bucket{UpperBound: latencyBounds[i], Count: n}
	}
	return Latency{
		Count: s.Count(), Mean: s.Mean(), Max: s.Max(), Sum: s.Sum(),
		P50: s.Percentile(0.50), P90: s.Percentile(0.90), P99: s.Percentile(0.99),
		Buckets: buckets,
	}
}

// Stats is a snapshot of a pool, as Piscina reports it. Counters are totals
// since New. While tasks are moving, fields may disagree by the tasks in
// flight.
type Stats struct {
	Name  string // the pool's Options.Name
	State string // "open", "closing", "closed" or "failed"

	Workers int // live workers (slots), busy or idle
	Busy    int // workers not waiting for a task: running one, or between two
	Idle    int // workers waiting for a task
	Hung    int // abandoned goroutines still running a hung task
	Max     int // current MaxWorkers
	Min     int // current MinWorkers

	Queued   int // tasks waiting for a worker
	QueueCap int // the queue's bound, or Unbounded

	// Submitted is the tasks accepted: resolved, running (Busy) or queued.
	// It counts each busy worker as running a task, so for a moment after
	// a task resolves, before its worker is idle again, and while a worker
	// is being built, it can exceed the tasks accepted by up to Busy.
	Submitted uint64
	Completed uint64 // succeeded
	Failed    uint64 // returned an error (not a timeout or panic)
	Panicked  uint64 // panicked (*PanicError)
	Rejected  uint64 // refused with ErrQueueFull, or before reaching the pool (CountRejected)
	Canceled  uint64 // never ran: caller's ctx ended while queued, or Close or failure canceled them
	TimedOut  uint64 // ran past TaskTimeout, including hung ones
	Restarts  uint64 // workers rebuilt after a crash, hang or factory failure
	Recycled  uint64 // workers replaced after MaxTasksPerWorker
	HungTotal uint64 // workers ever declared hung

	RunTime  Latency // how long tasks ran
	WaitTime Latency // how long tasks waited in the queue

	// Utilization is the time workers spent running tasks divided by the
	// time MaxWorkers workers could have run them since New: 1 means every
	// allowed worker was busy all the time. It is estimated from the sampled
	// run times.
	Utilization float64

	// Stalled reports that the pool cannot move: work is queued, every
	// worker it may run is busy, and no task started or finished between
	// the last two idle ticks (a whole IdleTimeout), nor since. The usual
	// cause is tasks that call their own pool (Run, Submit, Go,
	// Future.Wait) with a ctx other than their own, each waiting for work
	// that only a free worker could run (see Pool); tasks that all run
	// longer than IdleTimeout while more wait look the same. A PoolStalled
	// event reports it when it begins. It turns false as soon as a task
	// starts or finishes.
	Stalled bool
}

var stateNames = [...]string{stateOpen: "open", stateClosing: "closing", stateForced: "closed", stateFailed: "failed"}

// sumLocked adds the counters of every slot, live, hung or exited, to
// total. The caller holds p.mu.
func (p *Pool[In, Out]) sumLocked(total *counters) {
	total.add(&p.retired)
	for s := range p.slots {
		total.add(&s.stats)
	}
	for s := range p.hung {
		total.add(&s.stats)
	}
}

// Stats returns a snapshot of the pool. It does not stop the pool: it reads
// per-worker counters without taking any lock that tasks take.
func (p *Pool[In, Out]) Stats() Stats {
	var total counters
	st := Stats{Name: p.opts.Name, State: stateNames[p.state.Load()]}
	p.mu.Lock()
	p.sumLocked(&total)
	st.Hung = len(p.hung)
	progress := total.resolved()
	if isClosed(p.drained) && st.State == "closing" {
		st.State = "closed"
	}
	p.mu.Unlock()

	st.Workers, st.Idle = int(p.live.Load()), int(p.idle.Load())
	st.Busy = max(st.Workers-st.Idle, 0)
	st.Max, st.Min = int(p.max.Load()), int(p.min.Load())
	st.Queued, st.QueueCap = p.queued(), p.opts.QueueSize
	st.Completed, st.Failed, st.Panicked = total.completed.Load(), total.failed.Load(), total.panicked.Load()
	st.Canceled = total.canceled.Load() + p.dropped.Load() + p.abandoned.Load()
	st.TimedOut = total.timedOut.Load()
	st.Stalled = p.stalled(p.queue.Popped() + progress)
	st.Rejected, st.Restarts = p.rejected.Load(), p.restarts.Load()
	st.Recycled, st.HungTotal = p.recycled.Load(), p.hungTotal.Load()
	resolved := st.Completed + st.Failed + st.Panicked + st.Canceled + st.TimedOut
	st.Submitted = resolved + uint64(st.Busy) + uint64(st.Queued)

	run, wait, runNanos := p.lat.snapshot()
	st.RunTime, st.WaitTime = summary(&run), summary(&wait)
	if capacity := float64(time.Since(p.epoch)) * float64(st.Max); capacity > 0 {
		st.Utilization = min(float64(runNanos)/capacity, 1)
	}
	return st
}

// CountRejected counts, in Stats.Rejected, a task that an admission rule
// in front of the pool refused before submitting it, as httpx refuses a
// request whose estimated wait is past its budget, so that every refusal
// shows in one counter whether the pool or the rule made it. It costs one
// atomic add and is safe for concurrent use.
func (p *Pool[In, Out]) CountRejected() { p.rejected.Add(1) }

// Queued returns the number of tasks waiting for a worker, as
// Stats.Queued reports it, without a snapshot: a few atomic loads, for
// admission decisions on every request, as httpx makes them.
func (p *Pool[In, Out]) Queued() int { return p.queued() }

// EstimatedWait returns how long a task queued now would wait before a
// worker starts it: the tasks queued ahead of it, times the moving average
// of recent run times, divided by MaxWorkers. It is 0 while nothing is
// queued or before any task was timed. It is cheap (a few atomic loads, no
// lock), for admission decisions on every request, as httpx makes them.
func (p *Pool[In, Out]) EstimatedWait() time.Duration {
	return p.estimate(p.queued())
}

// estimate is EstimatedWait for a queue of n tasks.
func (c *core) estimate(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return time.Duration(int64(n) * c.runEWMA.Load() / max(c.max.Load(), 1))
}

// observeRun folds a sampled run time into the moving average that
// EstimatedWait uses, weighting the new sample 1/8. Concurrent updates may
// lose one another's sample, which an estimate can afford.
func (c *core) observeRun(d time.Duration) {
	old := c.runEWMA.Load()
	if old == 0 {
		c.runEWMA.Store(max(int64(d), 1))
		return
	}
	c.runEWMA.Store(max(old+(int64(d)-old)/8, 1))
}
