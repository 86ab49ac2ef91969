package pool

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFutureWakeRacingResolution(t *testing.T) {
	t.Run("a waiter that makes the channel as the task resolves is always woken", func(t *testing.T) {
		p, err := NewFunc(func(_ context.Context, n int) (int, error) { return n, nil }, Options{MaxWorkers: 1})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()
		for i := range 20000 {
			f := &Future[int]{lazy: true, core: p.core}
			go f.resolve(i, nil)
			<-f.Done() // hangs, and the test times out, if the close was lost
			require.Equal(t, i, f.out)
			require.True(t, isClosed(f.wake.Load().(chan struct{})))
		}
	})
}

func TestFutureResolvedMeansDoneClosed(t *testing.T) {
	t.Run("once a waiter finds the future resolved, Done is closed", func(t *testing.T) {
		p, err := NewFunc(func(_ context.Context, n int) (int, error) { return n, nil }, Options{MaxWorkers: 1})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()
		for i := range 20000 {
			f := &Future[int]{lazy: true, core: p.core}
			go f.resolve(i, nil)
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
