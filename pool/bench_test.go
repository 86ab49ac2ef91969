package pool_test

// Benchmarks for the pool performance targets P1-P4 of DESIGN.md. Each
// target is one benchmark with paired sub-benchmarks: "chanpool", the
// hand-written baseline below, and "crew", so the ratio of their ns/op is
// the number the target bounds. One op is one task everywhere.
//
//	go test -run '^$' -bench . -benchmem -count=6 ./pool

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cpukernel "github.com/crewkit/crew/internal/kernel"
	"github.com/crewkit/crew/pool"
)

// benchQueue is the queue bound of both pools in P1-P3: crew's default.
const benchQueue = pool.DefaultQueueSize

// chanPool is the baseline of every target: N goroutines ranging over a
// buffered channel of closures, as one would write it by hand.
type chanPool struct {
	tasks chan func()
	wg    sync.WaitGroup
	ran   atomic.Int64
}

func newChanPool(workers, queue int) *chanPool {
	c := &chanPool{tasks: make(chan func(), queue)}
	c.wg.Add(workers)
	for range workers {
		go c.work()
	}
	return c
}

func (c *chanPool) work() {
	defer c.wg.Done()
	n := int64(0)
	for f := range c.tasks {
		f()
		n++
	}
	c.ran.Add(n)
}

// close waits for every queued task and returns how many ran.
func (c *chanPool) close() int64 {
	close(c.tasks)
	c.wg.Wait()
	return c.ran.Load()
}

func workers() int { return runtime.GOMAXPROCS(0) }

// crewOpts starts every worker up front, as the channel pool does.
func crewOpts(queue int) pool.Options {
	return pool.Options{MaxWorkers: workers(), MinWorkers: workers(), QueueSize: queue}
}

func closePool(b *testing.B, c interface{ Close(context.Context) error }) {
	b.Helper()
	if err := c.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func checkRan(b *testing.B, ran, want uint64) {
	b.Helper()
	if ran != want {
		b.Fatalf("ran %d tasks, want %d", ran, want)
	}
}

var (
	tinyTask = func() {}
	tinyFunc = func(context.Context, int) (struct{}, error) { return struct{}{}, nil }
	tinyRun  = func(context.Context) error { return nil }
)

// BenchmarkP1FireAndForget is target P1: one producer queues b.N tiny tasks
// without waiting for results; the op ends when every task has run. crew
// must stay within 2x the channel pool per task and allocate nothing.
func BenchmarkP1FireAndForget(b *testing.B) {
	b.Run("chanpool", func(b *testing.B) {
		b.ReportAllocs()
		c := newChanPool(workers(), benchQueue)
		b.ResetTimer()
		for range b.N {
			c.tasks <- tinyTask
		}
		ran := c.close()
		b.StopTimer()
		checkRan(b, uint64(ran), uint64(b.N))
	})
	b.Run("crew", func(b *testing.B) {
		b.ReportAllocs()
		p, err := pool.NewFunc(tinyFunc, crewOpts(benchQueue))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if err := p.Go(ctx, i); err != nil {
				b.Fatal(err)
			}
		}
		closePool(b, p)
		b.StopTimer()
		checkRan(b, p.Stats().Completed, uint64(b.N))
	})
	b.Run("crew-tasks", func(b *testing.B) {
		b.ReportAllocs()
		t, err := pool.NewTasks(crewOpts(benchQueue))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ResetTimer()
		for range b.N {
			if err := t.Go(ctx, tinyRun); err != nil {
				b.Fatal(err)
			}
		}
		closePool(b, t)
		b.StopTimer()
		checkRan(b, t.Stats().Completed, uint64(b.N))
	})
}

// p2Callers is the number of callers per worker in P2.
const p2Callers = 4

func square(n int) int { return n * n }

// BenchmarkP2Run is target P2: 4 callers per worker each submit a tiny task
// and wait for its result. The baseline's caller reuses one reply channel
// and builds one closure per call; crew must stay within 1.3x of it.
func BenchmarkP2Run(b *testing.B) {
	b.Run("chanpool", func(b *testing.B) {
		b.ReportAllocs()
		c := newChanPool(workers(), benchQueue)
		b.SetParallelism(p2Callers)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			reply := make(chan int, 1)
			for i := 0; pb.Next(); i++ {
				c.tasks <- func() { reply <- square(i) }
				if <-reply != i*i {
					panic("wrong reply")
				}
			}
		})
		b.StopTimer()
		c.close()
	})
	b.Run("crew", func(b *testing.B) {
		benchCrewRun(b, func() (context.Context, context.CancelFunc) { return context.Background(), func() {} })
	})
	// With a cancellable ctx, as an HTTP handler has (target P2c). The
	// baseline does what a hand-written pool must to honour the caller's
	// ctx: the caller waits on its reply or its ctx, and the task is
	// skipped when the caller left before it started.
	b.Run("chanpool-cancelctx", func(b *testing.B) {
		b.ReportAllocs()
		c := newChanPool(workers(), benchQueue)
		b.SetParallelism(p2Callers)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reply := make(chan int, 1)
			for i := 0; pb.Next(); i++ {
				c.tasks <- func() {
					if ctx.Err() == nil {
						reply <- square(i)
					}
				}
				select {
				case v := <-reply:
					if v != i*i {
						panic("wrong reply")
					}
				case <-ctx.Done():
					panic("cancelled")
				}
			}
		})
		b.StopTimer()
		c.close()
	})
	b.Run("crew-cancelctx", func(b *testing.B) {
		benchCrewRun(b, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) })
	})
	// An HTTP handler's request/reply that sheds load: TryRun with the
	// request's ctx.
	b.Run("crew-tryrun-cancelctx", func(b *testing.B) {
		benchCrewCall(b, (*pool.Pool[int, int]).TryRun,
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) })
	})
	// The same in a pool with a TaskTimeout, as the example server has:
	// such a pool never runs tasks inline, and each task gets a deadline.
	b.Run("crew-tryrun-cancelctx-tasktimeout", func(b *testing.B) {
		opts := crewOpts(benchQueue)
		opts.TaskTimeout = 10 * time.Second
		benchCrewCallOpts(b, opts, (*pool.Pool[int, int]).TryRun,
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) })
	})
	// The way an HTTP handler uses a pool (httpx.Handle): TrySubmit with
	// the request's ctx, then Wait on the future with it.
	b.Run("crew-submit-cancelctx", func(b *testing.B) {
		b.ReportAllocs()
		p, err := pool.NewFunc(func(_ context.Context, n int) (int, error) { return square(n), nil }, crewOpts(benchQueue))
		if err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(p2Callers)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := 0; pb.Next(); i++ {
				f, err := p.TrySubmit(ctx, i)
				if err != nil {
					panic(err)
				}
				if out, err := f.Wait(ctx); err != nil || out != i*i {
					panic("wrong reply")
				}
			}
		})
		b.StopTimer()
		closePool(b, p)
	})
}

// benchCrewRun runs P2 on crew, each caller using the context newCtx gives.
func benchCrewRun(b *testing.B, newCtx func() (context.Context, context.CancelFunc)) {
	benchCrewCall(b, (*pool.Pool[int, int]).Run, newCtx)
}

// benchCrewCall runs P2 on crew through call (Run or TryRun), each caller
// using the context newCtx gives.
func benchCrewCall(b *testing.B, call func(*pool.Pool[int, int], context.Context, int) (int, error),
	newCtx func() (context.Context, context.CancelFunc)) {
	benchCrewCallOpts(b, crewOpts(benchQueue), call, newCtx)
}

// benchCrewCallOpts is benchCrewCall on a pool configured by opts.
func benchCrewCallOpts(b *testing.B, opts pool.Options, call func(*pool.Pool[int, int], context.Context, int) (int, error),
	newCtx func() (context.Context, context.CancelFunc)) {
	b.ReportAllocs()
	p, err := pool.NewFunc(func(_ context.Context, n int) (int, error) { return square(n), nil }, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(p2Callers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx, cancel := newCtx()
		defer cancel()
		for i := 0; pb.Next(); i++ {
			out, err := call(p, ctx, i)
			if err != nil || out != i*i {
				panic("wrong reply")
			}
		}
	})
	b.StopTimer()
	closePool(b, p)
}

// kernel is the ~10us CPU-bound task of P3.
var kernel = cpukernel.Run

// kernelSink keeps kernel's results alive.
var kernelSink atomic.Uint64

// seqNanos is the sequential ns per task of the last P3 sequential run.
var seqNanos atomic.Int64

// sequentialNanos returns the sequential time per task, measuring it when
// the sequential sub-benchmark did not run.
func sequentialNanos() float64 {
	if ns := seqNanos.Load(); ns > 0 {
		return float64(ns)
	}
	const n = 1000
	start := time.Now()
	for i := range n {
		kernelSink.Add(kernel(uint64(i)))
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

// reportSpeedup reports the speedup over the sequential loop.
func reportSpeedup(b *testing.B, elapsed time.Duration) {
	seq := sequentialNanos()
	b.ReportMetric(seq/(float64(elapsed.Nanoseconds())/float64(b.N)), "speedup")
}

// BenchmarkP3CPU is target P3: one producer queues b.N CPU-bound tasks of
// about 10us. The speedup metric is relative to the sequential loop; crew's
// must be at least 0.97x the channel pool's, that is its ns/op at most
// 1/0.97 of the channel pool's.
func BenchmarkP3CPU(b *testing.B) {
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for i := range b.N {
			kernelSink.Add(kernel(uint64(i)))
		}
		elapsed := time.Since(start)
		if b.N >= 100 {
			seqNanos.Store(elapsed.Nanoseconds() / int64(b.N))
		}
		b.ReportMetric(1, "speedup")
	})
	b.Run("chanpool", func(b *testing.B) {
		b.ReportAllocs()
		c := newChanPool(workers(), benchQueue)
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			c.tasks <- func() { kernelSink.Add(kernel(uint64(i))) }
		}
		ran := c.close()
		elapsed := time.Since(start)
		b.StopTimer()
		checkRan(b, uint64(ran), uint64(b.N))
		reportSpeedup(b, elapsed)
	})
	b.Run("crew", func(b *testing.B) {
		b.ReportAllocs()
		p, err := pool.NewFunc(func(_ context.Context, n uint64) (struct{}, error) {
			kernelSink.Add(kernel(n))
			return struct{}{}, nil
		}, crewOpts(benchQueue))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			if err := p.Go(ctx, uint64(i)); err != nil {
				b.Fatal(err)
			}
		}
		closePool(b, p)
		elapsed := time.Since(start)
		b.StopTimer()
		checkRan(b, p.Stats().Completed, uint64(b.N))
		reportSpeedup(b, elapsed)
	})
}

// p4Queued is the number of tasks queued behind blocked workers in P4.
const p4Queued = 1_000_000

// queuedSink is package-level so that the baseline's closures capture only
// their int.
var queuedSink atomic.Int64

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// queuedBench runs P4 for one pool. Each op queues p4Queued tasks, each
// carrying an int, behind workers blocked on a gate, and measures the live
// heap from before the pool was built to the full queue. fill queues the
// tasks (the first workers() of them block on gate); drain releases and
// waits for them. ns/op and allocs/op are per task.
func queuedBench(b *testing.B, fill func(gate chan struct{}) (drain func())) {
	b.ReportAllocs()
	var bytes uint64
	var elapsed time.Duration
	var m0, m1 runtime.MemStats
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		start := time.Now()
		gate := make(chan struct{})
		drain := fill(gate)
		elapsed += time.Since(start)
		b.StopTimer()
		runtime.ReadMemStats(&m1)
		bytes += heapInUse() - before
		b.StartTimer()
		close(gate)
		drain()
	}
	b.StopTimer()
	tasks := float64(b.N) * p4Queued
	b.ReportMetric(float64(bytes)/tasks, "B/task")
	b.ReportMetric(float64(elapsed.Nanoseconds())/tasks, "ns/op")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/p4Queued, "allocs/op")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/p4Queued, "B/op")
}

// BenchmarkP4Queued is target P4: memory per queued task, where each task
// carries an int. The baseline's tasks are closures capturing it; crew's
// typed pool stores it in the queue slot. crew-tasks queues the same
// closures as the baseline, on the closure pool (for information).
func BenchmarkP4Queued(b *testing.B) {
	b.Run("chanpool", func(b *testing.B) {
		queuedBench(b, func(gate chan struct{}) func() {
			c := newChanPool(workers(), p4Queued)
			for range workers() {
				c.tasks <- func() { <-gate }
			}
			for i := range p4Queued {
				c.tasks <- func() { queuedSink.Add(int64(i)) }
			}
			return func() { checkRan(b, uint64(c.close()), p4Queued+uint64(workers())) }
		})
	})
	b.Run("crew", func(b *testing.B) {
		queuedBench(b, func(gate chan struct{}) func() {
			p, err := pool.NewFunc(func(_ context.Context, n int) (struct{}, error) {
				if n < 0 {
					<-gate
				}
				queuedSink.Add(int64(n))
				return struct{}{}, nil
			}, crewOpts(p4Queued))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for range workers() {
				mustGo(b, p.Go(ctx, -1))
			}
			for i := range p4Queued {
				mustGo(b, p.Go(ctx, i))
			}
			return func() {
				closePool(b, p)
				checkRan(b, p.Stats().Completed, p4Queued+uint64(workers()))
			}
		})
	})
	b.Run("crew-tasks", func(b *testing.B) {
		queuedBench(b, func(gate chan struct{}) func() {
			t, err := pool.NewTasks(crewOpts(p4Queued))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for range workers() {
				mustGo(b, t.Go(ctx, func(context.Context) error { <-gate; return nil }))
			}
			for i := range p4Queued {
				mustGo(b, t.Go(ctx, func(context.Context) error { queuedSink.Add(int64(i)); return nil }))
			}
			return func() {
				closePool(b, t)
				checkRan(b, t.Stats().Completed, p4Queued+uint64(workers()))
			}
		})
	})
}

func mustGo(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}
