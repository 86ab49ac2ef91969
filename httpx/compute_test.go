package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestCompute(t *testing.T) {
	t.Run("the result comes back to the caller", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		n, err := httpx.Compute(bg, p, func(context.Context) (int, error) { return 6 * 7, nil })
		require.NoError(t, err)
		require.Equal(t, 42, n)
	})

	t.Run("a full queue fails at once with ErrQueueFull", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 1})
		release := make(chan struct{})
		started := make(chan struct{})
		_, err := p.TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
		require.NoError(t, err)
		<-started
		fillQueue(t, p, release)
		_, err = httpx.Compute(bg, p, func(context.Context) (int, error) { return 1, nil })
		require.ErrorIs(t, err, pool.ErrQueueFull)
		close(release)
	})

	t.Run("a panic comes back as a PanicError", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		_, err := httpx.Compute(bg, p, func(context.Context) (int, error) { panic("bad input") })
		pe, ok := errorsAs[*pool.PanicError](err)
		require.True(t, ok)
		require.Equal(t, "bad input", pe.Value)
	})

	t.Run("a caller that leaves while queued never runs the work", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		release, started := make(chan struct{}), make(chan struct{})
		_, err := p.TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
		require.NoError(t, err)
		<-started
		ctx, cancel := context.WithCancel(bg)
		cancel()
		ran := false
		_, err = httpx.Compute(ctx, p, func(context.Context) (int, error) { ran = true; return 1, nil })
		require.ErrorIs(t, err, context.Canceled)
		close(release)
		require.NoError(t, p.Close(bg))
		require.False(t, ran)
	})

	t.Run("a handler under Offload can compute on the same pool", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		h := httpx.Offload(p, httpx.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := httpx.Compute(r.Context(), p, func(context.Context) (string, error) { return "nested", nil })
			require.NoError(t, err)
			_, _ = io.WriteString(w, s)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Equal(t, "nested", rec.Body.String())
	})
}

func TestWriteError(t *testing.T) {
	o, err := httpx.New(newTasks(t, pool.Options{}), httpx.Options{OnError: func(*http.Request, error) {}})
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		err    error
		status int
		retry  string
	}{
		{"a full queue is a 503 with Retry-After", pool.ErrQueueFull, 503, "1"},
		{"a closed pool is a 503 with Retry-After", pool.ErrClosed, 503, "1"},
		{"a failed pool is a 503 with Retry-After", pool.ErrPoolFailed, 503, "1"},
		{"a timeout is the timeout status", pool.ErrTimeout, 503, ""},
		{"a panic is a 500", &pool.PanicError{Value: "x"}, 500, ""},
		{"any other error is a 500", io.ErrUnexpectedEOF, 500, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			o.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, tc.retry, rec.Header().Get("Retry-After"))
		})
	}

	t.Run("nothing is written for a client that went away", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg)
		cancel()
		rec := httptest.NewRecorder()
		o.WriteError(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil), context.Canceled)
		require.False(t, rec.Flushed)
		require.Empty(t, rec.Body.String())
		require.Empty(t, rec.Header())
	})
}

func TestComputeInPlace(t *testing.T) {
	t.Run("a panic of work computed in place comes back as a PanicError", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		h := httpx.Offload(p, httpx.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := httpx.Compute(r.Context(), p, func(context.Context) (int, error) { panic("inline") })
			pe, ok := errorsAs[*pool.PanicError](err)
			require.True(t, ok)
			require.Equal(t, "inline", pe.Value)
			w.WriteHeader(http.StatusTeapot)
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Equal(t, http.StatusTeapot, rec.Code)
		// Completed and Panicked, not Submitted: the worker may still count
		// as busy for a moment after the task it ran resolved.
		st := p.Stats()
		require.Equal(t, uint64(1), st.Completed, "only the request's task ran on the pool")
		require.Zero(t, st.Panicked, "the panic was computed in place")
	})
}
