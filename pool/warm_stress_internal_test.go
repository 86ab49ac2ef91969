package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type strictWorker struct {
	id    int
	inUse atomic.Bool
	n     atomic.Int32
	max   int32
	bad   *atomic.Int64
}

func (w *strictWorker) Handle(ctx context.Context, n int) (int, error) {
	if !w.inUse.CompareAndSwap(false, true) {
		w.bad.Add(1)
		return 0, fmt.Errorf("worker %d entered twice", w.id)
	}
	defer w.inUse.Store(false)
	if w.n.Add(1) > w.max {
		w.bad.Add(1)
	}
	if n%29 == 0 {
		panic(n)
	}
	return n, nil
}

func TestWarmPoolStress(t *testing.T) {
	for _, qs := range []int{2, Unbounded} {
		for iter := 0; iter < 10; iter++ {
			var bad atomic.Int64
			p, err := New(func(_ context.Context, info WorkerInfo) (Worker[int, int], error) {
				return &strictWorker{id: info.ID, max: 7, bad: &bad}, nil
			}, Options{MaxWorkers: 3, MinWorkers: 1, QueueSize: qs, MaxTasksPerWorker: 7,
				IdleTimeout: time.Millisecond, OnError: func(error) {},
				Restart: RestartPolicy{MaxRestarts: -1, InitialBackoff: time.Microsecond, MaxBackoff: time.Microsecond}})
			require.NoError(t, err)
			makeWarm(p)
			var wg sync.WaitGroup
			var total, resolved, gos atomic.Int64
			for c := 0; c < 4; c++ {
				wg.Go(func() {
					for i := 1; i < 300; i++ {
						n := c*1000 + i
						total.Add(1)
						var err error
						switch rand.IntN(4) {
						case 0:
							_, err = p.Run(context.Background(), n)
						case 1:
							var f *Future[int]
							f, err = p.Submit(context.Background(), n)
							if err == nil {
								_, err = f.Wait(context.Background())
							}
						case 2:
							err = p.Go(context.Background(), n)
							gos.Add(1)
						case 3:
							if rand.IntN(10) == 0 {
								_ = p.Resize(1 + rand.IntN(4))
							}
							_, err = p.Run(context.Background(), n)
						}
						var pe *PanicError
						if err != nil && !errors.As(err, &pe) {
							t.Errorf("task %d: %v", n, err)
						}
						if pe != nil && pe.Value != n {
							t.Errorf("task %d got the panic of %v", n, pe.Value)
						}
						resolved.Add(1)
					}
				})
			}
			wg.Wait()
			require.NoError(t, p.Close(context.Background()))
			st := p.Stats()
			res := st.Completed + st.Failed + st.Panicked + st.Canceled + st.TimedOut
			require.Equal(t, uint64(total.Load()), res, "resolved %+v", st)
			require.Zero(t, bad.Load())
		}
	}
}
