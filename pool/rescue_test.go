package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// panicker is a stateful worker that panics on negative input, from a
// function whose name the PanicError's stack must show.
type panicker struct{}

func (w panicker) Handle(_ context.Context, n int) (int, error) {
	if n < 0 {
		panicOnPurpose(n)
	}
	return n, nil
}

func panicOnPurpose(n int) { panic(fmt.Sprintf("negative %d", n)) }

// TestPanicsOnEveryPath sends a panicking task down each way a task can
// run: a plain task on a worker's goroutine, a Run on the caller's
// goroutine (inline), and a task with a ctx of its own or a deadline. Each
// panic must reach that task's caller alone, as a *PanicError naming the
// panicking function, the worker must be rebuilt, and the tasks after it
// must run on the same pool. A pool this young times every task, which
// takes exec's long path; shortpath_internal_test.go warms the pool up to
// cover the short one.
func TestPanicsOnEveryPath(t *testing.T) {
	cases := []struct {
		name string
		opts pool.Options
		run  func(p *pool.Pool[int, int], n int) (int, error)
	}{
		{"Go", pool.Options{}, nil},
		{"Run inline", pool.Options{}, func(p *pool.Pool[int, int], n int) (int, error) {
			return p.Run(bg, n)
		}},
		{"Run queued", pool.Options{NoInline: true}, func(p *pool.Pool[int, int], n int) (int, error) {
			return p.Run(bg, n)
		}},
		{"Submit with a cancellable ctx", pool.Options{}, func(p *pool.Pool[int, int], n int) (int, error) {
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			f, err := p.Submit(ctx, n)
			if err != nil {
				return 0, err
			}
			return f.Wait(bg)
		}},
		{"Run with TaskTimeout", pool.Options{TaskTimeout: 1 << 40}, func(p *pool.Pool[int, int], n int) (int, error) {
			return p.Run(bg, n)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var built atomic.Int32
			var mu sync.Mutex
			var reported []error
			opts := c.opts
			opts.MaxWorkers = 1
			opts.OnError = func(err error) {
				mu.Lock()
				reported = append(reported, err)
				mu.Unlock()
			}
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				built.Add(1)
				return panicker{}, nil
			}, opts)
			require.NoError(t, err)
			run := c.run
			if run == nil { // Go: the error reaches OnError, and Close waits for it
				run = func(p *pool.Pool[int, int], n int) (int, error) { return n, p.Go(bg, n) }
			}
			for i, n := range []int{1, -2, 3, -4, 5} {
				out, err := run(p, n)
				if n < 0 && c.run != nil {
					var pe *pool.PanicError
					require.ErrorAs(t, err, &pe, "task %d", i)
					require.Equal(t, fmt.Sprintf("negative %d", n), pe.Value)
					require.Contains(t, string(pe.Stack), "panicOnPurpose")
					continue
				}
				require.NoError(t, err, "task %d", i)
				require.Equal(t, n, out)
			}
			require.NoError(t, p.Close(bg))
			st := p.Stats()
			require.EqualValues(t, 2, st.Panicked)
			require.EqualValues(t, 3, st.Completed)
			require.EqualValues(t, 3, built.Load(), "each panic discards the worker and a fresh one is built")
			if c.run == nil {
				require.Len(t, reported, 2)
				for _, err := range reported {
					var pe *pool.PanicError
					require.True(t, errors.As(err, &pe))
					require.Contains(t, string(pe.Stack), "panicOnPurpose")
				}
			} else {
				require.Empty(t, reported, "a panic goes to its caller, not to OnError")
			}
		})
	}
}
