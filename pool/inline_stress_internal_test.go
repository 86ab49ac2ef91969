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

// rvWorker is a stateful worker that fails any task entering it twice or
// after its Close, posts every input, and fails every 53rd with a Fatal error.
type rvWorker struct {
	id     int
	info   WorkerInfo
	inUse  atomic.Bool
	closed atomic.Int32
	mu     *sync.Mutex
	closes map[int]int
}

var errBad = errors.New("bad") // rvWorker's Fatal error

func (w *rvWorker) Handle(ctx context.Context, n int) (int, error) {
	if !w.inUse.CompareAndSwap(false, true) {
		return 0, fmt.Errorf("worker %d entered twice", w.id)
	}
	defer w.inUse.Store(false)
	if w.closed.Load() != 0 {
		return 0, fmt.Errorf("worker %d used after close", w.id)
	}
	_ = w.info.Post(n)
	if n%53 == 0 {
		return 0, Fatal(errBad)
	}
	return n, nil
}

func (w *rvWorker) Close(context.Context) error {
	w.closed.Add(1)
	w.mu.Lock()
	w.closes[w.id]++
	w.mu.Unlock()
	return nil
}

// Inline runs and queued tasks mixed on a stateful pool with every feature
// that touches a worker's life: an Unbounded queue, recycling, Fatal errors,
// idle retirement, Resize, and Post from every task. Afterwards every task
// was resolved once, Stats add up, every worker was closed exactly once, and
// each worker's events are in order; written by review.
func TestInlineMixedWithEveryWorkerLifeEvent(t *testing.T) {
	for iter := 0; iter < 20; iter++ {
		var mu sync.Mutex
		closes := map[int]int{}
		built := map[int]bool{}
		var evmu sync.Mutex
		evs := map[int][]EventKind{}
		p, err := New(func(_ context.Context, info WorkerInfo) (Worker[int, int], error) {
			mu.Lock()
			built[info.ID] = true
			mu.Unlock()
			return &rvWorker{id: info.ID, info: info, mu: &mu, closes: closes}, nil
		}, Options{MaxWorkers: 3, MinWorkers: 1, QueueSize: Unbounded, MaxTasksPerWorker: 5,
			IdleTimeout: time.Millisecond, MessageBuffer: 4, OnError: func(error) {},
			Restart: RestartPolicy{MaxRestarts: -1, InitialBackoff: time.Microsecond, MaxBackoff: time.Microsecond},
			OnEvent: func(e Event) {
				evmu.Lock()
				evs[e.Worker] = append(evs[e.Worker], e.Kind)
				evmu.Unlock()
			}})
		require.NoError(t, err)
		go func() {
			for range p.Messages().C() {
			}
		}()
		var wg sync.WaitGroup
		var total, resolved atomic.Int64
		for c := 0; c < 4; c++ {
			wg.Go(func() {
				for i := 1; i < 300; i++ {
					n := c*1000 + i
					total.Add(1)
					switch rand.IntN(4) {
					case 0, 1:
						_, err := p.Run(context.Background(), n)
						if err != nil && !errors.Is(err, errBad) {
							t.Errorf("run: %v", err)
						}
						resolved.Add(1)
					case 2:
						f, err := p.Submit(context.Background(), n)
						if err != nil {
							t.Errorf("submit: %v", err)
							return
						}
						_, err = f.Wait(context.Background())
						if err != nil && !errors.Is(err, errBad) {
							t.Errorf("submit: %v", err)
						}
						resolved.Add(1)
					case 3:
						if rand.IntN(10) == 0 {
							_ = p.Resize(1 + rand.IntN(4))
						}
						_, err := p.Run(context.Background(), n)
						if err != nil && !errors.Is(err, errBad) {
							t.Errorf("run: %v", err)
						}
						resolved.Add(1)
					}
				}
			})
		}
		wg.Wait()
		require.NoError(t, p.Close(context.Background()))
		st := p.Stats()
		res := st.Completed + st.Failed + st.Panicked + st.Canceled + st.TimedOut
		require.Equal(t, uint64(total.Load()), res, "resolved %+v", st)
		require.Equal(t, uint64(total.Load()), uint64(resolved.Load()))
		require.Equal(t, 0, st.Queued, "%+v", st)
		require.Equal(t, 0, st.Busy, "%+v", st)
		require.Equal(t, uint64(total.Load()), st.Submitted, "%+v", st)
		mu.Lock()
		for id := range built {
			require.Equal(t, 1, closes[id], "worker %d closes", id)
		}
		mu.Unlock()
		// The event buffer drops the oldest events when the hook falls
		// behind (a loaded machine): then only the order of what arrived
		// can be checked, not that every event did.
		complete := p.events.port.Stats().Dropped == 0
		evmu.Lock()
		for id, k := range evs {
			if id == 0 {
				continue
			}
			if complete {
				require.Equal(t, WorkerStarted, k[0], "worker %d: %v", id, k)
			}
			ex := 0
			for j, e := range k {
				if e == WorkerExited {
					ex++
					require.True(t, j == len(k)-1 || k[j+1] == WorkerRestarted, "worker %d: %v", id, k)
				}
			}
			if complete {
				require.Equal(t, 1, ex, "worker %d: %v", id, k)
			} else {
				require.LessOrEqual(t, ex, 1, "worker %d: %v", id, k)
			}
		}
		evmu.Unlock()
	}
}
