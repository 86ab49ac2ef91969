package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

// newTasks builds a closure pool and closes it when the test ends.
func newTasks(t testing.TB, opts pool.Options) *pool.Tasks {
	t.Helper()
	p, err := pool.NewTasks(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(bg)) })
	return p
}

// gate is a handler that announces each request, then blocks until the gate
// opens or the request's context ends.
type gate struct {
	entered chan struct{}
	open    chan struct{}
	ran     atomic.Int64
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 64), open: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.ran.Add(1)
	g.entered <- struct{}{}
	select {
	case <-g.open:
		_, _ = io.WriteString(w, "done")
	case <-r.Context().Done():
	}
}

// watched wraps a handler, counting what reaches the real ResponseWriter and
// closing returned when the handler chain has returned.
type watched struct {
	next     http.Handler
	writes   atomic.Int64
	returned chan struct{}
}

func watch(next http.Handler) *watched {
	return &watched{next: next, returned: make(chan struct{})}
}

func (h *watched) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer close(h.returned)
	h.next.ServeHTTP(countingWriter{w, &h.writes}, r)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) WriteHeader(code int) { c.n.Add(1); c.ResponseWriter.WriteHeader(code) }
func (c countingWriter) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.ResponseWriter.Write(b)
}

// serve starts a loopback server routing path through Offload to h.
func serve(t *testing.T, p *pool.Tasks, opts httpx.Options, path string, h http.Handler) *httptest.Server {
	t.Helper()
	r := chi.NewRouter()
	r.With(httpx.Offload(p, opts)).Handle(path, h)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// get sends a GET with ctx and returns the status and body.
func get(t *testing.T, ctx context.Context, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// fillQueue occupies every queue slot of p with tasks that wait for release
// and returns their futures. The pool's workers must all be busy.
func fillQueue(t *testing.T, p *pool.Tasks, release <-chan struct{}) []*pool.Future[struct{}] {
	t.Helper()
	var futs []*pool.Future[struct{}]
	for range p.Stats().QueueCap - p.Stats().Queued {
		f, err := p.TrySubmit(bg, func(context.Context) error { <-release; return nil })
		require.NoError(t, err)
		futs = append(futs, f)
	}
	return futs
}

// errorsAs is errors.AsType, named for brevity in assertions.
func errorsAs[E error](err error) (E, bool) { return errors.AsType[E](err) }
