package pool_test

import (
	"context"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) { return n * 2, nil }, pool.Options{MaxWorkers: 2, QueueSize: 4})
	require.NoError(t, err)
	for i := range 100 {
		out, err := p.Run(context.Background(), i)
		require.NoError(t, err)
		require.Equal(t, i*2, out)
	}
	f, err := p.Submit(context.Background(), 5)
	require.NoError(t, err)
	out, err := f.Wait(context.Background())
	require.NoError(t, err)
	require.Equal(t, 10, out)
	require.NoError(t, p.Close(context.Background()))
	st := p.Stats()
	require.Equal(t, uint64(101), st.Completed)
	t.Logf("%+v", st)
}
