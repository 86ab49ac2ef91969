package app_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestShutdownBudget(t *testing.T) {
	// slowClient connects to s and sends part of a body it never finishes.
	slowClient := func(t *testing.T, s served) io.Reader {
		c := s.ln.dial(t)
		sendHead(t, c, http.MethodPost, "/api/hash", 100)
		_, err := c.Write([]byte(`{"pass`))
		require.NoError(t, err)
		return c
	}

	t.Run("a slow client is cut after the HTTP share and shutdown returns nil", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs logBuffer
			s := serveOnPipes(t, app.Config{Workers: 1, BodyTimeout: time.Hour, ShutdownTimeout: 30 * time.Second,
				Logger: logs.logger()})
			c := slowClient(t, s)
			synctest.Wait()

			start := time.Now()
			require.NoError(t, s.stop())
			require.Equal(t, 20*time.Second, time.Since(start), "two thirds of the budget")
			require.Len(t, logs.lines(t, "closed connections that were still open after the HTTP drain"), 1)
			require.Len(t, logs.lines(t, "stopped"), 1)
			require.Equal(t, "closed", s.Pool().Stats().State)
			_, err := io.ReadAll(c)
			require.NoError(t, err, "the slow client's connection was closed")
		})
	})

	t.Run("the pool drains in the rest of the budget after a slow HTTP drain", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serveOnPipes(t, app.Config{Workers: 1, BodyTimeout: time.Hour, TaskTimeout: time.Hour,
				ShutdownTimeout: 30 * time.Second})
			slowClient(t, s)
			cancelled := make(chan time.Duration, 1)
			start := time.Now()
			task, err := s.Pool().TrySubmit(bg, func(ctx context.Context) error {
				<-ctx.Done() // a task that runs until the pool cancels it
				cancelled <- time.Since(start)
				return ctx.Err()
			})
			require.NoError(t, err)
			synctest.Wait()

			require.NoError(t, s.stop())
			require.Equal(t, 30*time.Second, <-cancelled, "cancelled when the whole budget is spent")
			_, err = task.Wait(bg)
			require.Error(t, err)
		})
	})

	t.Run("a task that ignores cancellation makes shutdown fail, naming it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := serveOnPipes(t, app.Config{Workers: 1, ShutdownTimeout: 30 * time.Second})
			release := make(chan struct{})
			_, err := s.Pool().TrySubmit(bg, func(context.Context) error { <-release; return nil })
			require.NoError(t, err)
			synctest.Wait()

			err = s.stop()
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.ErrorContains(t, err, "app: pool did not stop within the shutdown budget")
			close(release)
		})
	})
}
