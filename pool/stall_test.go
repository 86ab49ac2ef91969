package pool_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// stallEvents returns an OnEvent hook that passes on PoolStalled events.
func stallEvents() (func(pool.Event), <-chan pool.Event) {
	ch := make(chan pool.Event, 16)
	return func(e pool.Event) {
		if e.Kind == pool.PoolStalled {
			ch <- e
		}
	}, ch
}

func TestStall(t *testing.T) {
	t.Run("a task that runs its own full pool with a fresh ctx is reported stalled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hook, events := stallEvents()
			var p *pool.Pool[int, int]
			p = newPool(t, func(_ context.Context, n int) (int, error) {
				if n == 0 {
					// Not the task's ctx: the pool cannot tell this
					// call comes from its only worker.
					return p.Run(context.Background(), 1)
				}
				return n * 10, nil
			}, pool.Options{Name: "nest", MaxWorkers: 1, IdleTimeout: time.Second, OnEvent: hook})
			f := submit(t, p, bg, 0)

			// The first tick (1s) sees the pool full and records its
			// progress; only the second (2s) can tell nothing moved.
			time.Sleep(1500 * time.Millisecond)
			st := p.Stats()
			require.Equal(t, 1, st.Queued)
			require.Equal(t, 1, st.Busy)
			require.False(t, st.Stalled, "a stall takes a whole interval without progress")

			time.Sleep(time.Second)
			require.True(t, p.Stats().Stalled)
			synctest.Wait()
			select {
			case e := <-events:
				require.Equal(t, "nest", e.Pool)
				require.EqualError(t, e.Err, `pool "nest": stalled: no task started or finished in 1s, with 1 queued and 1 of 1 workers busy`)
			default:
				t.Fatal("no PoolStalled event")
			}

			// One more worker runs the nested task, and the outer one
			// finishes with its result.
			require.NoError(t, p.Resize(2))
			requireResult(t, f, 10)
			require.False(t, p.Stats().Stalled, "progress ends the stall at once")
			time.Sleep(3 * time.Second)
			require.False(t, p.Stats().Stalled)
			require.Empty(t, events, "one event per stall")
		})
	})
	t.Run("a full pool whose tasks keep finishing is not stalled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hook, events := stallEvents()
			p := newPool(t, func(_ context.Context, d time.Duration) (int, error) {
				time.Sleep(d)
				return 0, nil
			}, pool.Options{MaxWorkers: 1, IdleTimeout: time.Second, OnEvent: hook})
			var fs []*pool.Future[int]
			for range 20 {
				fs = append(fs, submit(t, p, bg, 300*time.Millisecond))
			}
			for i := range 5 {
				time.Sleep(time.Second)
				st := p.Stats()
				require.Positive(t, st.Queued, "after %ds", i+1)
				require.False(t, st.Stalled, "after %ds", i+1)
			}
			for _, f := range fs {
				requireResult(t, f, 0)
			}
			synctest.Wait()
			require.Empty(t, events)
		})
	})
	t.Run("a nested call with the task's ctx does not stall the pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			hook, events := stallEvents()
			var p *pool.Pool[int, int]
			p = newPool(t, func(ctx context.Context, n int) (int, error) {
				if n == 0 {
					return p.Run(ctx, 1)
				}
				return n * 10, nil
			}, pool.Options{MaxWorkers: 1, IdleTimeout: time.Second, OnEvent: hook})
			f := submit(t, p, bg, 0)
			requireResult(t, f, 10)
			time.Sleep(3 * time.Second)
			require.False(t, p.Stats().Stalled)
			synctest.Wait()
			require.Empty(t, events)
		})
	})
}

func TestStalledEventName(t *testing.T) {
	require.Equal(t, "pool stalled", pool.PoolStalled.String())
}
