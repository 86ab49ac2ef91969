package benchmarks_test

import (
	"sync"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/benchmarks"
)

// BenchmarkP1FireAndForget: one producer queues b.N tiny tasks and the op
// ends when all have run, as target P1. One op is one task.
func BenchmarkP1FireAndForget(b *testing.B) {
	for _, impl := range benchmarks.Impls() {
		if impl.Sync {
			continue // a producer cannot queue work on it without waiting
		}
		b.Run(impl.Name, func(b *testing.B) {
			b.ReportAllocs()
			p := impl.New(benchmarks.Workers())
			b.ResetTimer()
			for range b.N {
				p.Go(benchmarks.Tiny)
			}
			p.Close()
		})
	}
}

// BenchmarkP2Run: four callers per worker each run a tiny task and wait for
// its result, as target P2. One op is one task.
func BenchmarkP2Run(b *testing.B) {
	for _, impl := range benchmarks.Impls() {
		b.Run(impl.Name, func(b *testing.B) {
			b.ReportAllocs()
			p := impl.New(benchmarks.Workers())
			defer p.Close()
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				call := p.Caller()
				for i := 0; pb.Next(); i++ {
					var out int
					call(func() { out = i * i })
					if out != i*i {
						panic("wrong result")
					}
				}
			})
		})
	}
}

// BenchmarkP3CPU: one producer queues b.N CPU-bound tasks of about 10us, as
// target P3, and reports the speedup over running them in a loop. tunny,
// which has no fire-and-forget submission, is driven by two callers per
// worker instead. One op is one task.
func BenchmarkP3CPU(b *testing.B) {
	var seq time.Duration // sequential time per task of this run
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for i := range b.N {
			benchmarks.Sink.Add(benchmarks.Kernel(uint64(i)))
		}
		if b.N >= 100 {
			seq = time.Since(start) / time.Duration(b.N)
		}
		b.ReportMetric(1, "speedup")
	})
	for _, impl := range benchmarks.Impls() {
		b.Run(impl.Name, func(b *testing.B) {
			b.ReportAllocs()
			p := impl.New(benchmarks.Workers())
			b.ResetTimer()
			start := time.Now()
			if impl.Sync {
				callP3(p, b.N)
			} else {
				for i := range b.N {
					p.Go(func() { benchmarks.Sink.Add(benchmarks.Kernel(uint64(i))) })
				}
			}
			p.Close()
			elapsed := time.Since(start)
			if seq > 0 {
				b.ReportMetric(float64(seq)*float64(b.N)/float64(elapsed), "speedup")
			}
		})
	}
}

// callP3 runs n kernel tasks on p from two callers per worker.
func callP3(p benchmarks.Pool, n int) {
	callers := 2 * benchmarks.Workers()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			call := p.Caller()
			for i := c; i < n; i += callers {
				call(func() { benchmarks.Sink.Add(benchmarks.Kernel(uint64(i))) })
			}
		})
	}
	wg.Wait()
}
