package pool_test

import (
	"context"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestCountRejected(t *testing.T) {
	t.Run("a refusal made in front of the pool counts with the queue's own", func(t *testing.T) {
		p, err := pool.NewTasks(pool.Options{MaxWorkers: 1, QueueSize: 1})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, p.Close(bg)) })
		hold := make(chan struct{})
		started := make(chan struct{})
		running, err := p.TrySubmit(bg, func(context.Context) error { close(started); <-hold; return nil })
		require.NoError(t, err)
		<-started
		queued, err := p.TrySubmit(bg, func(context.Context) error { return nil })
		require.NoError(t, err)
		_, err = p.TrySubmit(bg, func(context.Context) error { return nil })
		require.ErrorIs(t, err, pool.ErrQueueFull)

		require.Equal(t, 1, p.Queued())
		p.CountRejected()
		p.CountRejected()
		st := p.Stats()
		require.Equal(t, uint64(3), st.Rejected)
		require.Equal(t, uint64(2), st.Submitted, "a counted refusal is not a submitted task")
		close(hold)
		for _, f := range []*pool.Future[struct{}]{running, queued} {
			_, err := f.Wait(bg)
			require.NoError(t, err)
		}
	})
}
