package pool

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/internal/ring"
)

// A slot that leaves while Close runs must not let Close return with a task
// queued that no worker will run. The slot's exit already took it out of
// live and its maybeSpawn found the queue empty; a submitter that passed its
// state check before Close then put a task. If the slot's finish
// (checkDrained) lands after Close set closing but before Close's own
// maybeSpawn registered a worker, drained closes, that start gives up, and
// Close returns nil with the task queued: accepted, never run or resolved.
// The window is inside Close, so the test races it many times; without the
// fix it fails within a few hundred rounds.
func TestCloseDoesNotStrandATaskQueuedAsTheLastSlotLeaves(t *testing.T) {
	for round := range 3000 {
		p, err := NewFunc(func(_ context.Context, n int) (int, error) { return n, nil }, Options{MaxWorkers: 1})
		require.NoError(t, err)
		// The leaving slot: registered, no longer in live, finish is next.
		a := &slot[int, int]{stop: make(chan struct{}), ready: make(chan struct{}), left: make(chan struct{})}
		a.uncounted.Store(true)
		p.mu.Lock()
		p.slots[a] = struct{}{}
		p.mu.Unlock()
		// The submitter's put; its own maybeSpawn comes later (and gives up).
		f := &Future[int]{done: make(chan struct{}), core: p.core}
		require.Equal(t, ring.OK, p.tryPut(task[int, int]{in: 7, fut: f}, false))

		begin := make(chan struct{})
		closed := make(chan error, 1)
		finished := make(chan struct{})
		go func() { <-begin; closed <- p.Close(context.Background()) }()
		go func() { <-begin; p.finish(a); close(finished) }()
		close(begin)
		<-finished
		require.NoError(t, <-closed)
		p.maybeSpawn()
		select {
		case <-f.done:
		default:
			t.Fatalf("round %d: Close returned nil with an accepted task neither run nor resolved (queued %d, live %d)",
				round, p.queued(), p.live.Load())
		}
	}
}
