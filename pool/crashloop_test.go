package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/messaging"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

var errDown = errors.New("backend down")

// panicky is a worker that panics on every task, calling crashed first if
// set.
type panicky struct{ crashed func() }

func (w panicky) Handle(context.Context, int) (int, error) {
	if w.crashed != nil {
		w.crashed()
	}
	panic("always")
}

// crashLoop measures, in synctest's virtual time, how long a pool of n
// workers under policy takes from its first crash to the first caller that
// gets ErrPoolFailed (no virtual time passes between the two): with a
// factory that always fails (factory true), or with workers that panic on
// every task, fed by n callers that run tasks until the pool fails.
func crashLoop(t *testing.T, n int, factory bool, policy pool.RestartPolicy) time.Duration {
	t.Helper()
	var d time.Duration
	synctest.Test(t, func(t *testing.T) {
		var first, failed time.Time
		var once, failOnce sync.Once
		min := n // a failing factory would fail New: its slots start on demand
		if factory {
			min = 0
		}
		crashed := func() { once.Do(func() { first = time.Now() }) }
		p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			if factory {
				crashed()
				return nil, errDown
			}
			return panicky{crashed}, nil
		}, pool.Options{MinWorkers: min, MaxWorkers: n, Restart: policy})
		require.NoError(t, err)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				for {
					_, err := p.Run(bg, 1)
					if errors.Is(err, pool.ErrPoolFailed) {
						failOnce.Do(func() { failed = time.Now() })
						return
					}
					var pe *pool.PanicError
					require.ErrorAs(t, err, &pe)
				}
			})
		}
		wg.Wait()
		require.NoError(t, p.Close(bg))
		d = failed.Sub(first)
	})
	return d
}

func TestCrashLoopFailsThePool(t *testing.T) {
	t.Run("a factory that always fails on one worker fails the pool within Period", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				return nil, errDown
			}, pool.Options{MaxWorkers: 1})
			require.NoError(t, err)
			// Without the crash-loop limit this Run waits forever: the
			// deadline only turns that into a failure.
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			defer cancel()
			start := time.Now()
			_, err = p.Run(ctx, 1)
			require.ErrorIs(t, err, pool.ErrPoolFailed)
			require.ErrorIs(t, err, errDown, "the last failure is named")
			require.ErrorContains(t, err, "crash loop: 8 failures in a row")
			require.LessOrEqual(t, time.Since(start), pool.DefaultRestartPeriod)
			require.Equal(t, "failed", p.Stats().State)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a worker that panics on every task fails the pool under 5 restarts in 1s", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				return panicky{}, nil
			}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: 5, Period: time.Second}})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			defer cancel()
			start := time.Now()
			for {
				_, err = p.Run(ctx, 1)
				if errors.Is(err, pool.ErrPoolFailed) {
					break
				}
				require.ErrorAs(t, err, new(*pool.PanicError))
			}
			require.ErrorContains(t, err, "crash loop")
			require.LessOrEqual(t, time.Since(start), time.Second)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a worker that crashes now and then among many successes never fails the pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				return pool.Func[int, int](func(_ context.Context, n int) (int, error) {
					time.Sleep(10 * time.Millisecond)
					if n%50 == 49 {
						panic("now and then")
					}
					return n, nil
				}), nil
			}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: 5, Period: time.Second}})
			require.NoError(t, err)
			for i := range 5000 { // 50s of work, 100 crashes, two a second
				_, err := p.Run(bg, i)
				if i%50 == 49 {
					require.ErrorAs(t, err, new(*pool.PanicError))
				} else {
					require.NoError(t, err)
				}
			}
			st := p.Stats()
			require.Equal(t, "open", st.State)
			require.Equal(t, uint64(100), st.Restarts)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a negative MaxRestarts never fails the pool, even in a crash loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.New(downAfterFirst(), pool.Options{MinWorkers: 1, MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: -1}})
			require.NoError(t, err)
			_, err = p.Run(bg, 1)
			require.ErrorIs(t, err, errDown)
			time.Sleep(time.Hour)
			require.Equal(t, "open", p.Stats().State)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a thread that fails at every run ends failed within Period", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			th, err := pool.Spawn(func(context.Context, *messaging.Port[int], *messaging.Port[int]) error {
				return errDown
			}, pool.SpawnOptions{})
			require.NoError(t, err)
			start := time.Now()
			<-th.Done()
			require.LessOrEqual(t, time.Since(start), pool.DefaultRestartPeriod)
			require.ErrorIs(t, th.Err(), pool.ErrPoolFailed)
			require.ErrorIs(t, th.Err(), errDown)
			require.ErrorContains(t, th.Err(), "crash loop: 8 failures in a row")
		})
	})
}

// TestCrashLoopTimes checks the bound documented in docs/supervision.md for
// pools of 1 to 256 workers under the default policy, and logs the times it
// measured (run with -v to see them; they are virtual time).
func TestCrashLoopTimes(t *testing.T) {
	for _, kind := range []struct {
		name    string
		factory bool
	}{{"a failing factory", true}, {"a worker that panics on every task", false}} {
		for _, n := range []int{1, 2, 16, 256} {
			t.Run(fmt.Sprintf("%s on %d workers fails the pool within Period", kind.name, n), func(t *testing.T) {
				lo, hi := time.Duration(1<<62), time.Duration(0)
				for range 5 { // jitter makes each run differ
					d := crashLoop(t, n, kind.factory, pool.RestartPolicy{})
					require.LessOrEqual(t, d, pool.DefaultRestartPeriod)
					lo, hi = min(lo, d), max(hi, d)
				}
				t.Logf("%s, %d workers: %v to %v from the first crash to ErrPoolFailed (virtual time)", kind.name, n, lo, hi)
			})
		}
	}
}
