package pool

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/internal/ring"
)

// Regression: Close counted workers by the registry that start fills in,
// while maybeSpawn counts a new worker in live before it calls start. A
// Close that ran in between found no worker and returned at once, leaving
// the tasks queued behind that start to nobody. Found by a stress test
// (producers filling the queue while Close runs); this one holds the
// window open on purpose.
func TestCloseWaitsForAWorkerBeingStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := NewFunc(func(_ context.Context, n int) (int, error) { return n, nil }, Options{MaxWorkers: 1})
		require.NoError(t, err)
		p.live.Add(1) // as maybeSpawn does, just before it calls start
		f := &Future[int]{done: make(chan struct{}), core: p.core}
		require.Equal(t, ring.OK, p.tryPut(task[int, int]{in: 7, fut: f}, false))

		closed := make(chan error, 1)
		go func() { closed <- p.Close(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v with a worker on its way and a task queued", err)
		default:
		}

		require.NotNil(t, p.start()) // the delayed start goes on and drains the queue
		require.NoError(t, <-closed)
		out, err := f.Wait(context.Background())
		require.NoError(t, err)
		require.Equal(t, 7, out)
	})
}
