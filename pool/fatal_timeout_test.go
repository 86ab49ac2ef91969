package pool_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// A worker that cannot go on after its deadline (a process worker killed at
// TaskTimeout) returns a Fatal error: it is rebuilt, and its task still
// counts as timed out.
func TestFatalErrorAtTimeoutRebuildsTheWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errKilled := errors.New("child killed")
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
			return pool.Func[int, int](func(ctx context.Context, n int) (int, error) {
				if n == 0 {
					<-ctx.Done()
					return 0, pool.Fatal(errKilled)
				}
				return info.ID, nil
			}), nil
		}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, Restart: pool.RestartPolicy{InitialBackoff: time.Millisecond}})
		require.NoError(t, err)
		defer p.Close(context.Background())
		_, err = p.Run(context.Background(), 0)
		require.ErrorIs(t, err, pool.ErrTimeout)
		require.ErrorIs(t, err, errKilled)
		require.True(t, pool.IsFatal(err))
		id, err := p.Run(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, 2, id, "a new worker runs the next task")
		st := p.Stats()
		require.Equal(t, uint64(1), st.TimedOut)
		require.Equal(t, uint64(1), st.Restarts)
	})
}

func TestShedTaskCountsAsCanceled(t *testing.T) {
	p := newPool(t, func(_ context.Context, n int) (int, error) {
		if n == 0 {
			return 0, fmt.Errorf("waited too long: %w", pool.ErrShed)
		}
		return n, nil
	}, pool.Options{MaxWorkers: 1})
	_, err := p.Run(context.Background(), 0)
	require.ErrorIs(t, err, pool.ErrShed)
	_, err = p.Run(context.Background(), 1)
	require.NoError(t, err)
	st := p.Stats()
	require.Equal(t, uint64(1), st.Canceled)
	require.Zero(t, st.Failed)
	require.Equal(t, uint64(1), st.Completed)
}
