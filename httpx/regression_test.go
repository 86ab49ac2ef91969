package httpx_test

// Regression tests for bugs found in review: each failed before its fix.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// Regression A: handler panics count against the pool's RestartPolicy, so a client
// that sends >100 panicking requests in 10s fails the pool for good: every
// later request gets 503 and LiveHandler says "restart me".
// Doc: "A handler that panics gets a 500 response and the pool goes on serving."
func TestRegressionPanicsFailThePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 128}) // default RestartPolicy
		h := httpx.Offload(p, httpx.Options{OnError: func(*http.Request, error) {}})(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Has("boom") {
					panic("bad input")
				}
				_, _ = io.WriteString(w, "fine")
			}))
		var wg sync.WaitGroup
		for range 101 {
			wg.Go(func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?boom", nil))
				require.Equal(t, http.StatusInternalServerError, rec.Code)
			})
		}
		wg.Wait()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Equal(t, "open", p.Stats().State, "panicking requests must not fail the pool")
		require.Equal(t, http.StatusOK, rec.Code)
		live := httptest.NewRecorder()
		httpx.LiveHandler(p).ServeHTTP(live, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Equal(t, http.StatusOK, live.Code)
	})
}

// Regression A': consecutive panics on one slot back it off exponentially, so a
// few panicking requests stall every request behind them.
func TestRegressionPanicsBackOffTheWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		h := httpx.Offload(p, httpx.Options{OnError: func(*http.Request, error) {}})(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Has("boom") {
					panic("bad input")
				}
				_, _ = io.WriteString(w, "fine")
			}))
		for range 6 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/?boom", nil))
		}
		start := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Less(t, time.Since(start), time.Second, "a healthy request waited for the panic backoff")
	})
}

// Regression B: ReadyOptions{Threshold: 1} is documented as "not ready means the
// queue is full", but a full queue still reports ready (<= comparison).
func TestRegressionReadyThresholdOne(t *testing.T) {
	p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 2})
	ready := httpx.ReadyHandler(p, httpx.ReadyOptions{Threshold: 1})
	release, started := make(chan struct{}), make(chan struct{})
	busy, err := p.TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
	require.NoError(t, err)
	<-started
	futs := fillQueue(t, p, release)
	_, err = p.TrySubmit(bg, func(context.Context) error { return nil })
	require.ErrorIs(t, err, pool.ErrQueueFull) // requests are already being rejected
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	code := rec.Code
	close(release)
	for _, f := range append(futs, busy) {
		_, _ = f.Wait(bg)
	}
	require.Equal(t, http.StatusServiceUnavailable, code, "full queue must be not ready at Threshold 1")
}

// Regression E: Retry-After overflows for a huge RetryAfter.
func TestRegressionRetryAfterOverflow(t *testing.T) {
	p := newTasks(t, pool.Options{MaxWorkers: 1})
	o, err := httpx.New(p, httpx.Options{RetryAfter: time.Duration(math.MaxInt64)})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	o.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), pool.ErrQueueFull)
	require.False(t, strings.HasPrefix(rec.Header().Get("Retry-After"), "-"), "Retry-After = %q", rec.Header().Get("Retry-After"))
}

// Regression C: after a hung handler is detached the middleware returns, chi puts
// the request's RouteContext back in its sync.Pool and hands it to the next
// request, while the detached handler still reads chi.URLParam from it.
func TestRegressionHungHandlerChiRouteContext(t *testing.T) {
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 2, TaskTimeout: 20 * time.Millisecond, HungGrace: 20 * time.Millisecond})
	require.NoError(t, err)
	defer func() { _ = p.Close(bg) }() // may still list the hung worker
	release, stopped := make(chan struct{}), make(chan struct{})
	var wrong atomic.Int64
	r := chi.NewRouter()
	off := httpx.Offload(p, httpx.Options{OnError: func(*http.Request, error) {}})
	r.With(off).Get("/hung/{id}", func(w http.ResponseWriter, r *http.Request) {
		defer close(stopped)
		for {
			if chi.URLParam(r, "id") != "first" {
				wrong.Add(1)
			}
			select {
			case <-release:
				return
			default:
				runtime.Gosched()
			}
		}
	})
	r.Get("/fast/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, chi.URLParam(r, "id")) })
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, _ := get(t, bg, srv.URL+"/hung/first")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode) // declared hung, detached
	for i := range 200 {
		_, body := get(t, bg, fmt.Sprintf("%s/fast/n%d", srv.URL, i))
		require.Equal(t, fmt.Sprintf("n%d", i), body)
	}
	close(release)
	<-stopped
	require.Zero(t, wrong.Load(), "detached handler saw another request's URL params")
}

// Regression D: a hung handler blocked in a request-body Read holds bodyMu, so
// detach blocks: the middleware cannot answer (no 503) until the client
// sends more data or leaves, although the pool already declared it hung.
func TestRegressionHungInBodyReadBlocksDetach(t *testing.T) {
	hung := make(chan struct{})
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 1, TaskTimeout: 50 * time.Millisecond, HungGrace: 50 * time.Millisecond,
		OnEvent: onHung(hung)})
	require.NoError(t, err)
	defer func() { _ = p.Close(bg) }() // reports the hung worker
	returned := make(chan struct{}, 1)
	inner := httpx.Offload(p, httpx.Options{OnError: func(*http.Request, error) {}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body) // a slow upload: ignores ctx, as body reads do
		}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r)
		returned <- struct{}{}
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	require.NoError(t, err)
	requireDetached(t, hung, returned, conn)
}

// Regression D2: same for a hung handler blocked in Write to a client that does
// not read: detach waits on g.mu for as long as the Write blocks, so the
// middleware never aborts the connection.
func TestRegressionHungInWriteBlocksDetach(t *testing.T) {
	hung := make(chan struct{})
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 1, TaskTimeout: 50 * time.Millisecond, HungGrace: 50 * time.Millisecond,
		OnEvent: onHung(hung)})
	require.NoError(t, err)
	defer func() { _ = p.Close(bg) }()
	returned := make(chan struct{}, 1)
	chunk := make([]byte, 1<<20)
	inner := httpx.Offload(p, httpx.Options{OnError: func(*http.Request, error) {}})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for range 256 { // ignores ctx; each Write blocks once TCP buffers fill
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			returned <- struct{}{}
			if v := recover(); v != nil {
				panic(v) // net/http's abort of the connection
			}
		}()
		inner.ServeHTTP(w, r)
	}))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	require.NoError(t, err)
	requireDetached(t, hung, returned, conn)
}

// onHung returns an event hook that closes hung at the first WorkerHung.
func onHung(hung chan struct{}) func(pool.Event) {
	var once sync.Once
	return func(e pool.Event) {
		if e.Kind == pool.WorkerHung {
			once.Do(func() { close(hung) })
		}
	}
}

// requireDetached waits until the pool declared the handler hung, then
// requires the middleware to return without the client's help; closing conn
// afterwards (or on failure, to let the test end) unblocks the handler.
func requireDetached(t *testing.T, hung, returned <-chan struct{}, conn net.Conn) {
	t.Helper()
	<-hung
	select {
	case <-returned:
		conn.Close()
	case <-time.After(2 * time.Second):
		t.Error("pool declared the handler hung but the middleware is still blocked in detach")
		conn.Close()
		<-returned
	}
}
