package benchmarks

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/Jeffail/tunny"
	"github.com/alitto/pond/v2"
	"github.com/crewkit/crew/pool"
	"github.com/gammazero/workerpool"
	"github.com/panjf2000/ants/v2"
	concpool "github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"
)

// QueueSize bounds the queue of the pools that have a bounded queue: crew's
// default, used for crew, pond and the channel pool.
const QueueSize = pool.DefaultQueueSize

// Pool is what the benchmarks need of a worker pool.
type Pool interface {
	// Go queues fn to run once without waiting for it, waiting only while
	// the pool is full. It panics for a pool that has no such submission
	// (see Impl.Sync).
	Go(fn func())
	// Caller returns a function that runs fn once on the pool and returns
	// after fn has run. Each calling goroutine takes its own, so that a
	// pool without request/reply can reuse one reply channel per caller.
	Caller() func(fn func())
	// Close waits for every task queued by Go to run, then releases the
	// pool's goroutines.
	Close()
}

// Impl is one pool implementation under comparison.
type Impl struct {
	// Name identifies the pool in benchmark names.
	Name string
	// New builds a pool of the given number of workers.
	New func(workers int) Pool
	// Sync marks a pool that only runs tasks for a waiting caller (tunny):
	// its Go panics and the benchmarks drive it with caller goroutines.
	Sync bool
}

// Impls returns every pool under comparison, the channel pool baseline
// first and crew second.
func Impls() []Impl {
	return []Impl{
		{Name: "chanpool", New: newChanPool},
		{Name: "crew", New: newCrew},
		{Name: "ants", New: newAnts},
		{Name: "pond", New: newPond},
		{Name: "conc", New: newConc},
		{Name: "errgroup", New: newErrgroup},
		{Name: "tunny", New: newTunny, Sync: true},
		{Name: "workerpool", New: newWorkerpool},
		{Name: "goroutines", New: newGoroutines},
	}
}

// Workers is the worker count of every benchmark: one per core.
func Workers() int { return runtime.GOMAXPROCS(0) }

// replyCaller runs fn through submit and waits on a reply channel that the
// caller reuses, for pools that have no request/reply of their own.
func replyCaller(submit func(func())) func(fn func()) {
	reply := make(chan struct{}, 1)
	return func(fn func()) {
		submit(func() { fn(); reply <- struct{}{} })
		<-reply
	}
}

// chanPool is the baseline of the design's targets: N goroutines ranging
// over a buffered channel of closures.
type chanPool struct {
	tasks chan func()
	wg    sync.WaitGroup
}

func newChanPool(workers int) Pool {
	c := &chanPool{tasks: make(chan func(), QueueSize)}
	c.wg.Add(workers)
	for range workers {
		go func() {
			defer c.wg.Done()
			for f := range c.tasks {
				f()
			}
		}()
	}
	return c
}

func (c *chanPool) Go(fn func())            { c.tasks <- fn }
func (c *chanPool) Caller() func(fn func()) { return replyCaller(c.Go) }
func (c *chanPool) Close()                  { close(c.tasks); c.wg.Wait() }

// crewPool is a crew pool whose input is the closure to run, so that it
// runs the same closures as the other pools without wrapping them. One
// worker per processor starts at once, so that in P1-P3, whose pools have
// that many, every worker does, as the channel pool's do; beyond that,
// workers start when queued tasks find none idle, as a user would
// configure a pool of thousands of workers for I/O-bound tasks, and as
// ants, pond, conc and workerpool start theirs (P7).
type crewPool struct {
	p *pool.Pool[func(), struct{}]
}

func callClosure(_ context.Context, fn func()) (struct{}, error) {
	fn()
	return struct{}{}, nil
}

func newCrew(workers int) Pool {
	p, err := pool.NewFunc(callClosure, pool.Options{MaxWorkers: workers, MinWorkers: min(workers, Workers()), QueueSize: QueueSize})
	must(err)
	return crewPool{p}
}

func (c crewPool) Go(fn func()) { must(c.p.Go(context.Background(), fn)) }

func (c crewPool) Caller() func(fn func()) {
	return func(fn func()) {
		_, err := c.p.Run(context.Background(), fn)
		must(err)
	}
}

func (c crewPool) Close() { must(c.p.Close(context.Background())) }

// antsPool hands each task straight to an idle worker; Submit waits while
// all of them are busy. It has no queue.
type antsPool struct{ p *ants.Pool }

func newAnts(workers int) Pool {
	p, err := ants.NewPool(workers)
	must(err)
	return antsPool{p}
}

func (a antsPool) Go(fn func())            { must(a.p.Submit(fn)) }
func (a antsPool) Caller() func(fn func()) { return replyCaller(a.Go) }

// Close returns once every worker has exited, which each does after its
// last task.
func (a antsPool) Close() { must(a.p.ReleaseTimeout(time.Minute)) }

// pondPool has a bounded queue; Go waits while it is full.
type pondPool struct{ p pond.Pool }

func newPond(workers int) Pool {
	return pondPool{pond.NewPool(workers, pond.WithQueueSize(QueueSize))}
}

func (p pondPool) Go(fn func()) { must(p.p.Go(fn)) }

func (p pondPool) Caller() func(fn func()) {
	return func(fn func()) { must(p.p.Submit(fn).Wait()) }
}

func (p pondPool) Close() { p.p.StopAndWait() }

// concPool starts goroutines up to its limit and then hands tasks to idle
// ones; Go waits while all are busy.
type concPool struct{ p *concpool.Pool }

func newConc(workers int) Pool { return concPool{concpool.New().WithMaxGoroutines(workers)} }

func (c concPool) Go(fn func())            { c.p.Go(fn) }
func (c concPool) Caller() func(fn func()) { return replyCaller(c.Go) }
func (c concPool) Close()                  { c.p.Wait() }

// errgroupPool starts one goroutine per task, at most the limit at once; Go
// waits while the limit is reached.
type errgroupPool struct{ g *errgroup.Group }

func newErrgroup(workers int) Pool {
	g := new(errgroup.Group)
	g.SetLimit(workers)
	return errgroupPool{g}
}

func (e errgroupPool) Go(fn func())            { e.g.Go(func() error { fn(); return nil }) }
func (e errgroupPool) Caller() func(fn func()) { return replyCaller(e.Go) }
func (e errgroupPool) Close()                  { must(e.g.Wait()) }

// tunnyPool runs a task only for a caller that waits for it (Process).
type tunnyPool struct{ p *tunny.Pool }

func newTunny(workers int) Pool { return tunnyPool{tunny.NewCallback(workers)} }

func (t tunnyPool) Go(func()) { panic("benchmarks: tunny has no fire-and-forget submission") }

func (t tunnyPool) Caller() func(fn func()) {
	return func(fn func()) { t.p.Process(fn) }
}

func (t tunnyPool) Close() { t.p.Close() }

// workerPool queues without bound: Submit never waits.
type workerPool struct{ p *workerpool.WorkerPool }

func newWorkerpool(workers int) Pool { return workerPool{workerpool.New(workers)} }

func (w workerPool) Go(fn func()) { w.p.Submit(fn) }

func (w workerPool) Caller() func(fn func()) { return w.p.SubmitWait }

func (w workerPool) Close() { w.p.StopWait() }

// goroutines starts one goroutine per task, without a bound.
type goroutines struct{ wg sync.WaitGroup }

func newGoroutines(int) Pool { return new(goroutines) }

func (g *goroutines) Go(fn func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn()
	}()
}

func (g *goroutines) Caller() func(fn func()) { return replyCaller(g.Go) }
func (g *goroutines) Close()                  { g.wg.Wait() }

func must(err error) {
	if err != nil {
		panic(err)
	}
}
