package pool_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []pool.Event
}

func (r *recorder) hook(e pool.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds(k pool.EventKind) []pool.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pool.Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestRestartPolicy(t *testing.T) {
	t.Run("backoff grows exponentially, is capped, and jitter stays in bounds", func(t *testing.T) {
		r := pool.RestartPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2, Jitter: 0.1}
		require.Zero(t, r.Backoff(1), "the first failure is rebuilt at once")
		for n, want := range map[int]time.Duration{2: 100 * time.Millisecond, 3: 200 * time.Millisecond, 4: 400 * time.Millisecond, 5: 800 * time.Millisecond, 6: time.Second, 30: time.Second} {
			for range 100 {
				d := r.Backoff(n)
				require.GreaterOrEqual(t, d, want*9/10, "n=%d", n)
				require.LessOrEqual(t, d, want*11/10, "n=%d", n)
			}
		}
	})
	t.Run("invalid policies are rejected at construction", func(t *testing.T) {
		for _, c := range []struct {
			r    pool.RestartPolicy
			want string
		}{
			{pool.RestartPolicy{Multiplier: 0.5}, "pool: RestartPolicy.Multiplier must be >= 1, got 0.5"},
			{pool.RestartPolicy{Jitter: 2}, "pool: RestartPolicy.Jitter must be in [0, 1], got 2"},
			{pool.RestartPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second}, "must not exceed MaxBackoff"},
			{pool.RestartPolicy{Period: -1}, "pool: RestartPolicy.Period must be >= 0, got -1ns"},
		} {
			_, err := pool.NewFunc(func(context.Context, int) (int, error) { return 0, nil }, pool.Options{Restart: c.r})
			require.ErrorContains(t, err, c.want)
		}
	})
	t.Run("a factory that keeps failing backs off and then fails the pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			var calls atomic.Int32
			errStart := errors.New("cannot start")
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				calls.Add(1)
				return nil, errStart
			}, pool.Options{MaxWorkers: 1, OnEvent: rec.hook, Restart: pool.RestartPolicy{
				InitialBackoff: time.Second, MaxBackoff: 4 * time.Second, Jitter: 1e-9, MaxRestarts: 5, Period: time.Hour}})
			require.NoError(t, err)
			start := time.Now()
			_, err = p.Run(bg, 1)
			require.ErrorIs(t, err, pool.ErrPoolFailed)
			require.ErrorIs(t, err, errStart, "the last failure is named")
			require.Equal(t, int32(6), calls.Load())
			// Delays before tries 2..6: 0, 1s, 2s, 4s, 4s.
			require.InDelta(t, float64(11*time.Second), float64(time.Since(start)), float64(time.Millisecond))
			_, err = p.Submit(bg, 2)
			require.ErrorIs(t, err, pool.ErrPoolFailed)
			require.Equal(t, "failed", p.Stats().State)
			require.NoError(t, p.Close(bg))
			synctest.Wait()
			require.Len(t, rec.kinds(pool.PoolFailed), 1)
			require.Len(t, rec.kinds(pool.WorkerBackoff), 4)
			require.Len(t, rec.kinds(pool.PoolClosed), 1)
		})
	})
	t.Run("the intensity window slides: failures spread out do not fail the pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				return pool.Func[int, int](func(_ context.Context, n int) (int, error) {
					if n < 0 {
						panic("crash")
					}
					return n, nil
				}), nil
			}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: 2, Period: time.Minute}})
			require.NoError(t, err)
			defer p.Close(bg)
			for range 6 {
				_, err := p.Run(bg, -1)
				var pe *pool.PanicError
				require.ErrorAs(t, err, &pe)
				out, err := p.Run(bg, 1)
				require.NoError(t, err)
				require.Equal(t, 1, out)
				time.Sleep(31 * time.Second)
			}
			require.Equal(t, "open", p.Stats().State)
			_, _ = p.Run(bg, -1)
			_, _ = p.Run(bg, -1)
			_, err = p.Run(bg, -1)
			require.ErrorIs(t, err, pool.ErrPoolFailed, "three crashes within a minute exceed two")
		})
	})
	t.Run("a stateless pool keeps its worker through panics and Fatal errors", func(t *testing.T) {
		p := newPool(t, func(_ context.Context, e error) (int, error) {
			if e == nil {
				panic("crash")
			}
			return 0, e
		}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: 1}})
		for range 5 {
			_, err := p.Run(bg, nil)
			var pe *pool.PanicError
			require.ErrorAs(t, err, &pe)
			_, err = p.Run(bg, pool.Fatal(errBoom))
			require.ErrorIs(t, err, errBoom)
		}
		st := p.Stats()
		require.Equal(t, "open", st.State, "callers cannot fail a stateless pool")
		require.Zero(t, st.Restarts)
		require.Equal(t, uint64(5), st.Panicked)
	})
	t.Run("an error marked Fatal replaces the worker and an ordinary error keeps it", func(t *testing.T) {
		var built atomic.Int32
		p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[error, int], error) {
			id := built.Add(1)
			return pool.Func[error, int](func(_ context.Context, e error) (int, error) { return int(id), e }), nil
		}, pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		defer p.Close(bg)
		id, err := p.Run(bg, errBoom)
		require.ErrorIs(t, err, errBoom)
		require.Equal(t, 1, id)
		id, err = p.Run(bg, pool.Fatal(errBoom))
		require.ErrorIs(t, err, errBoom)
		require.True(t, pool.IsFatal(err))
		require.Equal(t, 1, id)
		id, err = p.Run(bg, nil)
		require.NoError(t, err)
		require.Equal(t, 2, id, "a fresh worker after the fatal error")
		require.Equal(t, uint64(1), p.Stats().Restarts)
		require.NoError(t, pool.Fatal(nil))
	})
}

func TestRecycling(t *testing.T) {
	t.Run("MaxTasksPerWorker replaces a worker after N tasks", func(t *testing.T) {
		var closed atomic.Int32
		var built atomic.Int32
		var rec recorder
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
			built.Add(1)
			return &counter{id: info.ID, closed: &closed}, nil
		}, pool.Options{MaxWorkers: 1, MaxTasksPerWorker: 3, OnEvent: rec.hook})
		require.NoError(t, err)
		var got []int
		for range 7 {
			n, err := p.Run(bg, 1)
			require.NoError(t, err)
			got = append(got, n)
		}
		require.NoError(t, p.Close(bg))
		require.Equal(t, []int{1, 2, 3, 1, 2, 3, 1}, got)
		require.Equal(t, int32(3), built.Load())
		require.Equal(t, int32(3), closed.Load())
		st := p.Stats()
		require.Equal(t, uint64(2), st.Recycled)
		require.Zero(t, st.Restarts, "recycling is not a failure")
		require.Len(t, rec.kinds(pool.WorkerRecycled), 2)
	})
}

func TestHungWorkers(t *testing.T) {
	t.Run("a task that ignores its deadline is declared hung and its slot refilled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			var rec recorder
			p := newPool(t, func(ctx context.Context, n int) (int, error) {
				if n < 0 {
					<-release // ignores ctx
				}
				return n, nil
			}, pool.Options{Name: "h", MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: 2 * time.Second, OnEvent: rec.hook})
			start := time.Now()
			_, err := p.Run(bg, -1)
			require.Equal(t, 3*time.Second, time.Since(start))
			require.ErrorIs(t, err, pool.ErrTimeout)
			require.ErrorContains(t, err, `pool "h": worker 1 hung`)
			out, err := p.Run(bg, 5)
			require.NoError(t, err, "a fresh worker took the slot")
			require.Equal(t, 5, out)
			st := p.Stats()
			require.Equal(t, 1, st.Hung)
			require.Equal(t, uint64(1), st.HungTotal)
			require.Equal(t, uint64(1), st.TimedOut)
			require.Equal(t, 1, st.Workers)
			ctx, cancel := context.WithCancel(bg)
			cancel()
			var ce *pool.CloseError
			require.ErrorAs(t, p.Close(ctx), &ce)
			require.Len(t, ce.Hung, 1)
			close(release)
			synctest.Wait()
			require.Zero(t, p.Stats().Hung, "the goroutine left when its handler returned")
			require.Len(t, rec.kinds(pool.WorkerHung), 1)
		})
	})
}

func TestEvents(t *testing.T) {
	t.Run("a slow OnEvent hook never stalls dispatch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			unblock := make(chan struct{})
			var seen atomic.Int32
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				return pool.Func[int, int](func(_ context.Context, n int) (int, error) { return n, nil }), nil
			}, pool.Options{MaxWorkers: 1, MaxTasksPerWorker: 1, OnEvent: func(pool.Event) {
				<-unblock // stuck until the test lets go
				seen.Add(1)
			}})
			require.NoError(t, err)
			for i := range 1000 { // each task recycles a worker: thousands of events
				out, err := p.Run(bg, i)
				require.NoError(t, err)
				require.Equal(t, i, out)
			}
			require.Zero(t, seen.Load(), "the hook has not returned once, yet every task ran")
			close(unblock)
			require.NoError(t, p.Close(bg))
			require.Positive(t, seen.Load())
		})
	})
}
