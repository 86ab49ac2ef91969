package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

func TestOffloadServes(t *testing.T) {
	t.Run("the handler runs on a pool worker and its response reaches the client", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 2})
		srv := serve(t, p, httpx.Options{}, "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Answer", "42")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "hello")
		}))
		resp, body := get(t, bg, srv.URL)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, "42", resp.Header.Get("X-Answer"))
		require.Equal(t, "hello", body)
		require.Equal(t, uint64(1), p.Stats().Completed)
	})

	t.Run("headers set by a handler that writes nothing reach the client", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		srv := serve(t, p, httpx.Options{}, "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Only", "header")
		}))
		resp, body := get(t, bg, srv.URL)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "header", resp.Header.Get("X-Only"))
		require.Empty(t, body)
	})

	t.Run("trailers set after the body reach the client", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		srv := serve(t, p, httpx.Options{}, "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Sum", "7")
		}))
		resp, err := http.Get(srv.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "body", string(body))
		require.Equal(t, "7", resp.Trailer.Get("X-Sum"))
	})

	t.Run("the request body is readable on the worker", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		srv := serve(t, p, httpx.Options{}, "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			_, _ = w.Write([]byte(strings.ToUpper(string(b))))
		}))
		resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("shout"))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "SHOUT", string(b))
	})

	t.Run("stacked Offload middlewares run the handler once, in place", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		r := chi.NewRouter()
		r.Use(httpx.Offload(p, httpx.Options{}))
		r.With(httpx.Offload(p, httpx.Options{})).Get("/", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "once")
		})
		srv := httptest.NewServer(r)
		defer srv.Close()
		_, body := get(t, bg, srv.URL)
		require.Equal(t, "once", body)
		// Completed, not Submitted: the worker may still count as busy
		// for a moment after the task it ran resolved.
		require.Equal(t, uint64(1), p.Stats().Completed, "one task ran")
	})
}

func TestOffloadBackpressure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       httpx.Options
		status     int
		retryAfter string
	}{
		{"a full queue is answered at once with 503 and Retry-After 1", httpx.Options{}, 503, "1"},
		{"the rejection status and Retry-After are configurable",
			httpx.Options{RejectStatus: http.StatusTooManyRequests, RetryAfter: 2500 * time.Millisecond}, 429, "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 2})
			g := newGate()
			srv := serve(t, p, tc.opts, "/", g)
			first := make(chan int)
			go func() { resp, _ := get(t, bg, srv.URL); first <- resp.StatusCode }()
			<-g.entered
			release := make(chan struct{})
			futs := fillQueue(t, p, release)

			resp, body := get(t, bg, srv.URL)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, tc.retryAfter, resp.Header.Get("Retry-After"))
			require.Contains(t, body, "retry later")
			require.Equal(t, int64(1), g.ran.Load())

			close(g.open)
			close(release)
			require.Equal(t, http.StatusOK, <-first)
			for _, f := range futs {
				_, err := f.Wait(bg)
				require.NoError(t, err)
			}
			require.Equal(t, uint64(1), p.Stats().Rejected)
		})
	}

	t.Run("a closed pool answers 503 with Retry-After", func(t *testing.T) {
		p, err := pool.NewTasks(pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		srv := serve(t, p, httpx.Options{}, "/", http.NotFoundHandler())
		require.NoError(t, p.Close(bg))
		resp, _ := get(t, bg, srv.URL)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		require.Equal(t, "1", resp.Header.Get("Retry-After"))
	})
}

func TestOffloadCancellation(t *testing.T) {
	t.Run("a client that leaves while queued never runs the work and gets nothing written", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 4})
		g := newGate()
		r := chi.NewRouter()
		h := watch(httpx.Offload(p, httpx.Options{})(g))
		r.Handle("/queued", h)
		r.With(httpx.Offload(p, httpx.Options{})).Handle("/", g)
		srv := httptest.NewServer(r)
		defer srv.Close()

		first := make(chan int)
		go func() { resp, _ := get(t, bg, srv.URL); first <- resp.StatusCode }()
		<-g.entered

		ctx, cancel := context.WithCancel(bg)
		failed := make(chan error)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/queued", nil)
			_, err := http.DefaultClient.Do(req)
			failed <- err
		}()
		require.Eventually(t, func() bool { return p.Stats().Queued == 1 }, 10*time.Second, time.Millisecond)
		cancel()
		require.ErrorIs(t, <-failed, context.Canceled)
		<-h.returned // the middleware returned while the work was still queued

		close(g.open)
		require.Equal(t, http.StatusOK, <-first)
		require.NoError(t, p.Close(bg))
		require.Equal(t, int64(1), g.ran.Load(), "the queued request must never run")
		require.Zero(t, h.writes.Load(), "nothing may be written for a client that left")
		require.Equal(t, uint64(1), p.Stats().Canceled)
	})

	t.Run("the request's cancellation reaches the running handler", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		g := newGate()
		h := watch(httpx.Offload(p, httpx.Options{})(g))
		srv := httptest.NewServer(h)
		defer srv.Close()

		ctx, cancel := context.WithCancel(bg)
		failed := make(chan error)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			_, err := http.DefaultClient.Do(req)
			failed <- err
		}()
		<-g.entered
		cancel()
		require.ErrorIs(t, <-failed, context.Canceled)
		<-h.returned // returns only once the handler saw ctx end and returned
		require.Zero(t, h.writes.Load())
		require.Equal(t, int64(1), g.ran.Load())
	})
}

func TestOffloadPanics(t *testing.T) {
	t.Run("a panic gives 500 and later requests succeed", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		var mu sync.Mutex
		var reported []error
		opts := httpx.Options{OnError: func(_ *http.Request, err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, err)
		}}
		srv := serve(t, p, opts, "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("boom") {
				panic("boom")
			}
			_, _ = io.WriteString(w, "fine")
		}))
		resp, body := get(t, bg, srv.URL+"?boom")
		require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		require.NotContains(t, body, "boom", "panic values are not sent to clients")
		for range 3 {
			resp, body = get(t, bg, srv.URL)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "fine", body)
		}
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, reported, 1)
		pe, ok := errors.AsType[*pool.PanicError](reported[0])
		require.True(t, ok)
		require.Equal(t, "boom", pe.Value)
		require.Equal(t, "open", p.Stats().State)
	})

	t.Run("a panic after the response began aborts the connection", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		opts := httpx.Options{OnError: func(*http.Request, error) {}}
		srv := serve(t, p, opts, "/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("late")
		}))
		resp, err := http.Get(srv.URL)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		require.Error(t, err, "a truncated response must not look complete")
	})
}
