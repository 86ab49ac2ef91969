package pool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/pool"
)

// mortal is a worker whose death is reported from outside its tasks, as
// a process worker's child that exits between tasks would be.
type mortal struct {
	info   pool.WorkerInfo
	closed atomic.Bool
	fatal  bool // Handle reports its death and fails with a Fatal error
}

func (m *mortal) Handle(_ context.Context, n int) (int, error) {
	if m.fatal {
		err := fmt.Errorf("worker %d: connection lost", m.info.ID)
		m.info.Crashed(err)
		return 0, pool.Fatal(err)
	}
	return m.info.ID, nil
}

func (m *mortal) Close(context.Context) error {
	m.closed.Store(true)
	return nil
}

// mortals builds mortal workers and keeps them by ID; died, if set, runs
// in the factory with the new worker.
type mortals struct {
	mu      sync.Mutex
	workers map[int]*mortal
	died    func(*mortal)
	fatal   bool
}

func (ms *mortals) factory(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
	m := &mortal{info: info, fatal: ms.fatal}
	ms.mu.Lock()
	if ms.workers == nil {
		ms.workers = map[int]*mortal{}
	}
	ms.workers[info.ID] = m
	ms.mu.Unlock()
	if ms.died != nil {
		ms.died(m)
	}
	return m, nil
}

func (ms *mortals) get(id int) *mortal {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.workers[id]
}

// eventLog records a pool's events.
type eventLog struct {
	mu  sync.Mutex
	evs []pool.Event
}

func (l *eventLog) hook(e pool.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, e)
}

func (l *eventLog) of(kind pool.EventKind) []pool.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []pool.Event
	for _, e := range l.evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

var errGone = errors.New("child killed by signal 9")

func TestWorkerInfoCrashed(t *testing.T) {
	t.Run("a worker that dies while parked is discarded, counted as a crash and rebuilt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ms mortals
			var log eventLog
			p, err := pool.New(ms.factory, pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: log.hook})
			require.NoError(t, err)
			id, err := p.Run(bg, 0)
			require.NoError(t, err)
			require.Equal(t, 1, id)
			synctest.Wait() // the slot is parked

			ms.get(1).info.Crashed(errGone)
			synctest.Wait()
			require.True(t, ms.get(1).closed.Load(), "the dead worker is closed")
			require.Equal(t, uint64(1), p.Stats().Restarts)
			exited := log.of(pool.WorkerExited)
			require.Len(t, exited, 1)
			require.Equal(t, 1, exited[0].Worker)
			require.ErrorIs(t, exited[0].Err, errGone)
			restarted := log.of(pool.WorkerRestarted)
			require.Len(t, restarted, 1)
			require.ErrorIs(t, restarted[0].Err, errGone)
			require.NotNil(t, ms.get(2), "a fresh worker is built at once, before any task asks for it")

			id, err = p.Run(bg, 0)
			require.NoError(t, err)
			require.Equal(t, 2, id)
			ms.get(1).info.Crashed(errGone) // about a worker gone already: ignored
			synctest.Wait()
			require.Equal(t, uint64(1), p.Stats().Restarts)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a death reported while the first worker is built is acted on once a slot takes it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ms := mortals{died: func(m *mortal) {
				if m.info.ID == 1 {
					m.info.Crashed(errGone) // New builds worker 1 before any slot exists
				}
			}}
			var log eventLog
			p, err := pool.New(ms.factory, pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: log.hook})
			require.NoError(t, err)
			synctest.Wait()
			require.Equal(t, uint64(1), p.Stats().Restarts)
			require.True(t, ms.get(1).closed.Load())
			id, err := p.Run(bg, 0)
			require.NoError(t, err)
			require.Equal(t, 2, id)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a worker that dies right after every build fails the pool under the crash-loop rule", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ms := mortals{died: func(m *mortal) {
				go m.info.Crashed(fmt.Errorf("worker %d: %w", m.info.ID, errGone))
			}}
			var log eventLog
			p, err := pool.New(ms.factory, pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: log.hook})
			require.NoError(t, err)
			start := time.Now()
			for p.Stats().State != "failed" {
				require.Less(t, time.Since(start), pool.DefaultRestartPeriod, "the pool is still open after Period")
				time.Sleep(10 * time.Millisecond)
			}
			synctest.Wait() // the events are delivered
			_, err = p.Run(bg, 0)
			require.ErrorIs(t, err, pool.ErrPoolFailed)
			require.ErrorIs(t, err, errGone, "the last death is named")
			require.ErrorContains(t, err, "crash loop: 8 failures in a row")
			require.Len(t, log.of(pool.PoolFailed), 1)
			require.Equal(t, uint64(8), p.Stats().Restarts)
			// The first death is repaired at once, the next six after a
			// backoff each, and the eighth ends the pool.
			require.Len(t, log.of(pool.WorkerBackoff), 6)
			require.NoError(t, p.Close(bg))
			for id := 1; id <= 8; id++ {
				require.True(t, ms.get(id).closed.Load(), "worker %d closed", id)
			}
		})
	})

	t.Run("a worker whose task fails with its death and which also reports it counts one crash", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ms := mortals{fatal: true}
			p, err := pool.New(ms.factory, pool.Options{MinWorkers: 1, MaxWorkers: 1})
			require.NoError(t, err)
			_, err = p.Run(bg, 0)
			require.ErrorContains(t, err, "worker 1: connection lost")
			synctest.Wait()
			require.Equal(t, uint64(1), p.Stats().Restarts)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a death that races a task's arrival neither loses the task nor resolves it twice", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ms mortals
			p, err := pool.New(ms.factory, pool.Options{MinWorkers: 1, MaxWorkers: 1})
			require.NoError(t, err)
			synctest.Wait()
			var wg sync.WaitGroup
			var ok atomic.Int64
			wg.Go(func() { ms.get(1).info.Crashed(errGone) })
			for range 4 {
				wg.Go(func() {
					f, err := p.Submit(bg, 0)
					require.NoError(t, err)
					_, err = f.Wait(bg)
					require.NoError(t, err)
					ok.Add(1)
				})
			}
			wg.Wait()
			synctest.Wait()
			require.Equal(t, int64(4), ok.Load())
			st := p.Stats()
			require.Equal(t, uint64(4), st.Completed, "each task resolved once")
			require.Equal(t, uint64(1), st.Restarts)
			require.NoError(t, p.Close(bg))
		})
	})

	t.Run("a late report from a discarded worker does not hide the live worker's death", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var infos [8]pool.WorkerInfo
			release := make(chan struct{})
			lost := errors.New("child died mid-task")
			p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
				infos[info.ID] = info
				return handlerFunc(func(_ context.Context, n int) (int, error) {
					switch n {
					case 1:
						return 0, pool.Fatal(lost)
					case 2:
						<-release
					}
					return info.ID, nil
				}), nil
			}, pool.Options{MinWorkers: 1, MaxWorkers: 1, NoInline: true})
			require.NoError(t, err)
			defer p.Close(bg)
			_, err = p.Run(bg, 1)
			require.ErrorIs(t, err, lost)
			synctest.Wait()
			restarts := p.Stats().Restarts
			fut, err := p.Submit(bg, 2)
			require.NoError(t, err)
			synctest.Wait() // worker 2 runs the task
			infos[2].Crashed(errors.New("worker 2's child died"))
			infos[1].Crashed(errors.New("worker 1's child, reported late"))
			close(release)
			_, err = fut.Wait(bg)
			require.NoError(t, err)
			synctest.Wait()
			require.Equal(t, restarts+1, p.Stats().Restarts, "worker 2's death counts as a crash")
		})
	})

	t.Run("a report from a worker that no pool built does nothing", func(t *testing.T) {
		info := pool.NewWorkerInfo(3, "child", func(any) error { return nil })
		info.Crashed(errGone)
		var zero pool.WorkerInfo
		zero.Crashed(nil)
	})
}

// handlerFunc is a worker made of one function.
type handlerFunc func(ctx context.Context, n int) (int, error)

func (f handlerFunc) Handle(ctx context.Context, n int) (int, error) { return f(ctx, n) }
