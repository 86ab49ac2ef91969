package httpx

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
)

// ErrDetached is returned by the writes, flushes and body reads of a handler
// that Offload stopped waiting for: the pool declared it hung, so the
// response was answered or abandoned without it.
var ErrDetached = errors.New("httpx: response no longer owned by this handler")

// Task states of a guard.
const (
	queued int32 = iota
	running
	abandoned // the request goroutine left before the task started
)

// guard owns a request's ResponseWriter and body while a pool worker uses
// them. The worker writes through a taskWriter; once the request goroutine
// detaches the guard, the worker's calls fail with ErrDetached and never
// touch the real writer. The handler gets a private header map, copied to
// the real one when the response is committed, so that a detached handler
// cannot race with the request goroutine on it.
type guard struct {
	state atomic.Int32

	mu        sync.Mutex // guards the fields below and every use of rw
	rw        http.ResponseWriter
	header    http.Header
	committed bool // the status line went to rw
	detached  bool

	bodyMu sync.Mutex // guards body reads against detach
	body   io.ReadCloser

	route *chi.Context // the handler's private copy of chi's route context
}

func newGuard(w http.ResponseWriter, body io.ReadCloser) *guard {
	return &guard{rw: w, header: w.Header().Clone(), body: body}
}

// begin moves a queued task to running; it reports false if the request
// goroutine abandoned it first.
func (g *guard) begin() bool { return g.state.CompareAndSwap(queued, running) }

// abandon moves a queued task to abandoned, so that it never starts; it
// reports false if the task already started.
func (g *guard) abandon() bool { return g.state.CompareAndSwap(queued, abandoned) }

// wasCommitted reports whether the handler sent a status line.
func (g *guard) wasCommitted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed
}

// release ends the handler's ownership after it returned normally: headers
// set after the last write (trailers, or all of them when nothing was
// written) reach the real writer.
func (g *guard) release() {
	g.bodyMu.Lock()
	defer g.bodyMu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	copyHeader(g.rw.Header(), g.header)
	g.detached = true
}

// detach ends the handler's ownership while it may still be running, and
// reports whether the response was committed. Like every change of
// detached, it holds both locks, bodyMu first.
func (g *guard) detach() bool {
	// A hung handler may be blocked in a body Read or a Write while holding
	// the lock: expire the connection's deadlines to unblock it.
	rc := http.NewResponseController(g.rw)
	if !g.bodyMu.TryLock() {
		_ = rc.SetReadDeadline(time.Now())
		g.bodyMu.Lock()
	}
	defer g.bodyMu.Unlock()
	if !g.mu.TryLock() {
		_ = rc.SetWriteDeadline(time.Now())
		g.mu.Lock()
	}
	defer g.mu.Unlock()
	g.detached = true
	return g.committed
}

// commit sends the handler's headers and status; g.mu is held.
func (g *guard) commit(code int) {
	copyHeader(g.rw.Header(), g.header)
	g.rw.WriteHeader(code)
	if code >= 200 || code == http.StatusSwitchingProtocols {
		g.committed = true
	}
}

// copyHeader replaces dst's contents with a deep copy of src.
func copyHeader(dst, src http.Header) {
	clear(dst)
	for k, v := range maps.All(src) {
		dst[k] = slices.Clone(v)
	}
}

// taskWriter is the ResponseWriter a pool worker sees. It implements
// http.Flusher (and FlushError for http.ResponseController); it does not
// implement http.Hijacker and has no Unwrap method, because either would let
// the handler reach the connection around the guard.
type taskWriter struct{ g *guard }

// Header returns the handler's header map.
func (w taskWriter) Header() http.Header { return w.g.header }

// WriteHeader sends the status line unless the handler was detached.
func (w taskWriter) WriteHeader(code int) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	if w.g.detached {
		return
	}
	if w.g.committed {
		w.g.rw.WriteHeader(code) // let net/http report the superfluous call
		return
	}
	w.g.commit(code)
}

// Write writes to the response unless the handler was detached.
func (w taskWriter) Write(b []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	if w.g.detached {
		return 0, ErrDetached
	}
	if !w.g.committed {
		w.g.commit(http.StatusOK)
	}
	return w.g.rw.Write(b)
}

// Flush sends buffered data to the client unless the handler was detached.
func (w taskWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush that reports ErrDetached, or http.ErrNotSupported
// when the underlying writer cannot flush.
func (w taskWriter) FlushError() error {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	if w.g.detached {
		return ErrDetached
	}
	if !w.g.committed {
		w.g.commit(http.StatusOK)
	}
	return http.NewResponseController(w.g.rw).Flush()
}

// taskBody is the request body a pool worker sees.
type taskBody struct{ g *guard }

// Read reads the request body unless the handler was detached.
func (b taskBody) Read(p []byte) (int, error) {
	b.g.bodyMu.Lock()
	defer b.g.bodyMu.Unlock()
	if b.g.detached {
		return 0, ErrDetached
	}
	return b.g.body.Read(p)
}

// Close closes the request body unless the handler was detached.
func (b taskBody) Close() error {
	b.g.bodyMu.Lock()
	defer b.g.bodyMu.Unlock()
	if b.g.detached {
		return ErrDetached
	}
	return b.g.body.Close()
}
