package pool_test

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/pool"
)

// idWorker answers with the ID of the worker that ran the task.
type idWorker struct{ id int }

func (w idWorker) Handle(context.Context, int) (int, error) { return w.id, nil }

func TestIdleWorkerOrder(t *testing.T) {
	t.Run("a task goes to a worker that was idle briefly, not to the one idle longest", func(t *testing.T) {
		// Tasks one after another on a pool of many idle workers: were
		// the one idle longest woken for each, they would take turns on
		// all of them, each task finding a worker whose memory went cold.
		// One slot per processor waits in the queue, and the rest nap.
		const tasks = 200
		procs := runtime.GOMAXPROCS(0)
		workers := procs + 14
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
			return idWorker{info.ID}, nil
		}, pool.Options{MaxWorkers: workers, MinWorkers: workers, NoInline: true})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(bg)) }()
		for p.Stats().Idle < workers {
			runtime.Gosched()
		}
		used := map[int]int{}
		for i := range tasks {
			id, err := p.Run(bg, i)
			require.NoError(t, err)
			used[id]++
		}
		t.Logf("workers used: %v", used)
		require.LessOrEqual(t, len(used), procs+4, "workers that ran %d tasks in a row", tasks)
	})
	t.Run("idle workers waiting their turn leave when Resize shrinks the pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, tinyFunc, pool.Options{MaxWorkers: 8, MinWorkers: 8})
			synctest.Wait()
			require.Equal(t, 8, p.Stats().Idle)
			require.NoError(t, p.Resize(2))
			synctest.Wait()
			require.Equal(t, 2, p.Stats().Workers)
			_, err := p.Run(bg, 1)
			require.NoError(t, err)
		})
	})
	t.Run("idle workers waiting their turn retire after IdleTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGate()
			p := newPool(t, g.task, pool.Options{MaxWorkers: 8, MinWorkers: 1, IdleTimeout: time.Second})
			for i := range 8 {
				require.NoError(t, p.Go(bg, i))
			}
			for range 8 {
				<-g.entered
			}
			close(g.open)
			synctest.Wait()
			require.Equal(t, 8, p.Stats().Idle)
			time.Sleep(3 * time.Second)
			synctest.Wait()
			require.Equal(t, 1, p.Stats().Workers)
		})
	})
}
