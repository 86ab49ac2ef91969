package remote_test

import (
	"context"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/stretchr/testify/require"
)

func TestCallerCancel(t *testing.T) {
	t.Run("a caller's cancel without a deadline ends the ctx of the member's running task", func(t *testing.T) {
		s := startServer(t)
		started := make(chan bool, 1) // whether the task's ctx has a deadline
		ended := make(chan error, 1)
		fn := func(ctx context.Context, j job) (string, error) {
			_, hasDeadline := ctx.Deadline()
			started <- hasDeadline
			<-ctx.Done()
			ended <- ctx.Err()
			return "", ctx.Err()
		}
		startMember(t, s, fn, pool.Options{}, remote.MemberOptions{})
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := p.Run(ctx, job{Text: "t"})
			done <- err
		}()
		require.False(t, <-started, "the caller has no deadline to forward")
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		require.ErrorIs(t, <-ended, context.Canceled)
	})
	t.Run("a task queued on the member when its caller cancels never runs", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		m := startMember(t, s, h.run, pool.Options{MaxWorkers: 1}, remote.MemberOptions{})
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{MaxWorkers: 4})
		first, err := p.Submit(context.Background(), job{Op: "block", Text: "first"})
		require.NoError(t, err)
		require.Equal(t, "first", <-h.started)

		ctx, cancel := context.WithCancel(context.Background())
		late, err := p.Submit(ctx, job{Op: "block", Text: "late"})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return m.pool.Stats().Queued == 1 }, 5*time.Second, time.Millisecond)
		cancel()
		_, err = late.Wait(context.Background())
		require.ErrorIs(t, err, context.Canceled)
		require.Eventually(t, func() bool { return m.pool.Stats().Canceled == 1 }, 5*time.Second, time.Millisecond)

		close(h.release)
		_, err = first.Wait(context.Background())
		require.NoError(t, err)
		require.Empty(t, h.started, "the cancelled task must not have run")
	})
}
