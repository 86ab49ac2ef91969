package pool

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFutureWakeRacingResolution(t *testing.T) {
	p, err := NewFunc(func(_ context.Context, n int) (int, error) { return n, nil }, Options{MaxWorkers: 1})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	// resolving returns a Submit future that another goroutine resolves
	// with i while the caller looks at it.
	resolving := func(i int) *Future[int] {
		f := &Future[int]{lazy: true, core: p.core}
		go f.resolve(i, nil)
		return f
	}

	t.Run("a waiter that makes the channel as the task resolves is always woken", func(t *testing.T) {
		for i := range 20000 {
			f := resolving(i)
			<-f.Done() // hangs, and the test times out, if the close was lost
			require.Equal(t, i, f.out)
			require.True(t, isClosed(f.wake.Load().(chan struct{})))
		}
	})
	t.Run("once a waiter finds the future resolved, Done is closed", func(t *testing.T) {
		for i := range 20000 {
			f := resolving(i)
			for f.state.Load() != resolved { // what ready looks at before Wait returns
			}
			select {
			case <-f.Done():
			default:
				require.Failf(t, "Done is open", "round %d: the future was resolved", i)
			}
		}
	})
}
