package pool_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// TestChaos: workers panic, hang, return fatal errors and fail to start at
// random while producers submit and the pool reloads. Every accepted task
// resolves exactly once and the goroutine accounting matches Stats.
func TestChaos(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var builds, hangs atomic.Int32
		var mu sync.Mutex
		r := rand.New(rand.NewPCG(3, 4))
		roll := func(n int) int { mu.Lock(); defer mu.Unlock(); return r.IntN(n) }
		p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			if builds.Add(1)%10 == 0 {
				return nil, errors.New("cannot start")
			}
			return pool.Func[int, int](func(ctx context.Context, id int) (int, error) {
				switch roll(100) {
				case 0:
					panic("chaos")
				case 1:
					return 0, pool.Fatal(errBoom)
				case 2:
					hangs.Add(1)
					<-release
					return 0, nil
				case 3, 4, 5:
					time.Sleep(time.Duration(roll(20)) * time.Millisecond)
				}
				return id, nil
			}), nil
		}, pool.Options{MaxWorkers: 4, QueueSize: 8, TaskTimeout: 50 * time.Millisecond, HungGrace: 50 * time.Millisecond,
			Restart: pool.RestartPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxRestarts: -1}})
		require.NoError(t, err)

		var accepted, resolved atomic.Int64
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				for i := range 150 {
					f, err := p.Submit(bg, g*1000+i)
					require.NoError(t, err)
					accepted.Add(1)
					wg.Go(func() {
						out, err := f.Wait(bg)
						resolved.Add(1)
						if err == nil {
							require.Equal(t, g*1000+i, out)
						}
					})
				}
			})
		}
		reloads := make(chan error)
		go func() {
			for range 3 {
				time.Sleep(100 * time.Millisecond)
				if err := p.Reload(bg); err != nil {
					reloads <- err
					return
				}
			}
			reloads <- nil
		}()
		wg.Wait()
		require.NoError(t, <-reloads)
		require.Equal(t, accepted.Load(), resolved.Load())
		st := p.Stats()
		require.Equal(t, uint64(accepted.Load()), st.Completed+st.Failed+st.Panicked+st.TimedOut+st.Canceled)
		require.Equal(t, int(hangs.Load()), st.Hung, "every hung goroutine is accounted for")
		require.Equal(t, uint64(hangs.Load()), st.HungTotal)
		require.Positive(t, st.Restarts)
		close(release)
		synctest.Wait()
		require.Zero(t, p.Stats().Hung)
		require.NoError(t, p.Close(bg))
	})
}
