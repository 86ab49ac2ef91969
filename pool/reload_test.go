package pool_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestReload(t *testing.T) {
	t.Run("every worker is replaced and no task fails under load", func(t *testing.T) {
		var built atomic.Int32
		var rec recorder
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
			built.Add(1)
			return pool.Func[int, int](func(context.Context, int) (int, error) { return info.ID, nil }), nil
		}, pool.Options{MinWorkers: 3, MaxWorkers: 3, QueueSize: 4, OnEvent: rec.hook})
		require.NoError(t, err)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var ran atomic.Int64
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := p.Run(bg, 1)
					require.NoError(t, err)
					ran.Add(1)
				}
			})
		}
		for range 3 {
			require.NoError(t, p.Reload(bg))
		}
		close(stop)
		wg.Wait()
		require.Equal(t, int32(12), built.Load(), "3 workers, then 3 fresh ones per reload")
		seen := map[int]bool{}
		for range 30 {
			id, err := p.Run(bg, 1)
			require.NoError(t, err)
			seen[id] = true
		}
		for id := range seen {
			require.Greater(t, id, 9, "only workers of the last reload serve")
		}
		require.NoError(t, p.Close(bg))
		st := p.Stats()
		require.Zero(t, st.Failed+st.Canceled+st.Panicked)
		require.Zero(t, st.Restarts, "a reload is not a failure")
		require.Len(t, rec.kinds(pool.PoolReloaded), 3)
	})
	t.Run("capacity never drops while a worker is replaced", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGate()
			p := newPool(t, g.task, pool.Options{MinWorkers: 2, MaxWorkers: 2, QueueSize: 4})
			busy := submit(t, p, bg, 1)
			<-g.entered
			done := make(chan error)
			go func() { done <- p.Reload(bg) }()
			synctest.Wait()
			// The busy worker waits for its task; the idle one is already
			// replaced, and a surge worker stands beside the busy one.
			st := p.Stats()
			require.GreaterOrEqual(t, st.Workers-st.Busy, 1, "a free worker remains: %+v", st)
			close(g.open)
			require.NoError(t, <-done)
			requireResult(t, busy, 1)
			synctest.Wait()
			require.Equal(t, 2, p.Stats().Workers)
		})
	})
	t.Run("Reload of a closed pool fails with ErrClosed", func(t *testing.T) {
		p := newPool(t, func(context.Context, int) (int, error) { return 0, nil }, pool.Options{})
		require.NoError(t, p.Close(bg))
		require.ErrorIs(t, p.Reload(bg), pool.ErrClosed)
	})
}
