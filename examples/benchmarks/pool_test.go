package benchmarks_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crewkit/crew/examples/benchmarks"
	"github.com/stretchr/testify/require"
)

const tasks = 2000

// runs records how often each of tasks closures ran.
type runs [tasks]atomic.Int32

func (r *runs) task(i int) func() { return func() { r[i].Add(1) } }

func (r *runs) requireOnce(t *testing.T) {
	t.Helper()
	for i := range r {
		require.Equal(t, int32(1), r[i].Load(), "task %d", i)
	}
}

func TestPools(t *testing.T) {
	for _, impl := range benchmarks.Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			if impl.Sync {
				t.Run("Go panics, as it has no fire-and-forget submission", func(t *testing.T) {
					p := impl.New(benchmarks.Workers())
					defer p.Close()
					require.Panics(t, func() { p.Go(func() {}) })
				})
			} else {
				t.Run("Go runs every task exactly once before Close returns", func(t *testing.T) {
					var r runs
					p := impl.New(benchmarks.Workers())
					for i := range tasks {
						p.Go(r.task(i))
					}
					p.Close()
					r.requireOnce(t)
				})
			}
			t.Run("callers run every task exactly once and see it done", func(t *testing.T) {
				var r runs
				p := impl.New(benchmarks.Workers())
				const callers = 8
				var wg sync.WaitGroup
				for c := range callers {
					wg.Go(func() {
						call := p.Caller()
						for i := c; i < tasks; i += callers {
							call(r.task(i))
							if r[i].Load() != 1 {
								panic("caller returned before its task ran")
							}
						}
					})
				}
				wg.Wait()
				p.Close()
				r.requireOnce(t)
			})
			if impl.Name == "goroutines" {
				return // unbounded by design: one goroutine per task
			}
			t.Run("no more tasks run at once than workers", func(t *testing.T) {
				const workers = 2
				var running, peak atomic.Int32
				p := impl.New(workers)
				task := func() {
					n := running.Add(1)
					for {
						m := peak.Load()
						if n <= m || peak.CompareAndSwap(m, n) {
							break
						}
					}
					benchmarks.Sink.Add(benchmarks.Kernel(1))
					running.Add(-1)
				}
				var wg sync.WaitGroup
				for range 4 * workers {
					wg.Go(func() {
						call := p.Caller()
						for range 50 {
							call(task)
						}
					})
				}
				wg.Wait()
				p.Close()
				require.LessOrEqual(t, peak.Load(), int32(workers))
			})
		})
	}
}

func TestKernelIsDeterministic(t *testing.T) {
	require.Equal(t, benchmarks.Kernel(42), benchmarks.Kernel(42))
	require.NotEqual(t, benchmarks.Kernel(1), benchmarks.Kernel(2))
}
