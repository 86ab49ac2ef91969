package pool_test

import (
	"context"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestInvalidConstruction(t *testing.T) {
	fn := func(context.Context, int) (int, error) { return 0, nil }
	for _, c := range []struct {
		opts pool.Options
		want string
	}{
		{pool.Options{MaxWorkers: -1}, "pool: MaxWorkers must be >= 0, got -1"},
		{pool.Options{QueueSize: -5}, "pool: QueueSize must be >= 0 or Unbounded (-1), got -5"},
		{pool.Options{QueueSize: pool.MaxQueueSize + 1}, "pool: QueueSize must be <= MaxQueueSize (1073741824) or Unbounded (-1), got 1073741825"},
		{pool.Options{TaskTimeout: -1}, "pool: TaskTimeout must be >= 0, got -1ns"},
		{pool.Options{MinWorkers: 3, MaxWorkers: 2}, "pool: MinWorkers (3) must not exceed MaxWorkers (2)"},
	} {
		_, err := pool.NewFunc(fn, c.opts)
		require.EqualError(t, err, c.want)
	}
	_, err := pool.NewFunc[int, int](nil, pool.Options{})
	require.EqualError(t, err, "pool: NewFunc needs a non-nil function")
	_, err = pool.New[int, int](nil, pool.Options{})
	require.EqualError(t, err, "pool: New needs a non-nil factory")
	_, err = pool.NewTasks(pool.Options{MaxWorkers: -2})
	require.EqualError(t, err, "pool: MaxWorkers must be >= 0, got -2")
}

func TestNilWorkerFromFactoryIsAFailure(t *testing.T) {
	p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
		return nil, nil
	}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{InitialBackoff: 1, MaxBackoff: 1, MaxRestarts: 1}})
	require.NoError(t, err)
	defer p.Close(bg)
	_, err = p.Run(bg, 1)
	require.ErrorIs(t, err, pool.ErrPoolFailed)
	require.ErrorContains(t, err, "factory returned a nil worker")
}
