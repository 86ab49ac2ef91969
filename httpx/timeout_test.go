package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// reports collects the errors passed to Options.OnError.
type reports struct{ n atomic.Int64 }

func (r *reports) onError(*http.Request, error) { r.n.Add(1) }

func TestOffloadTimeouts(t *testing.T) {
	t.Run("a handler that returns at its deadline without writing gets the timeout status", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second})
			var rep reports
			h := httpx.Offload(p, httpx.Options{TimeoutStatus: http.StatusGatewayTimeout, OnError: rep.onError})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			require.Equal(t, http.StatusGatewayTimeout, rec.Code)
			require.Equal(t, int64(1), rep.n.Load())
			require.Equal(t, uint64(1), p.Stats().TimedOut)
		})
	})

	t.Run("a hung handler gets the timeout status and its late writes are dropped", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second})
			release, late := make(chan struct{}), make(chan error, 1)
			h := httpx.Offload(p, httpx.Options{OnError: new(reports).onError})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Late", "yes")
					<-release // ignores its context
					_, err := io.WriteString(w, "late")
					late <- err
				}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			require.Empty(t, rec.Header().Get("X-Late"))
			require.Equal(t, 1, p.Stats().Hung)

			close(release)
			require.ErrorIs(t, <-late, httpx.ErrDetached)
			require.NotContains(t, rec.Body.String(), "late")
			synctest.Wait() // the hung worker's goroutine has exited
		})
	})

	t.Run("a handler hung after writing has its connection aborted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second})
			release := make(chan struct{})
			h := httpx.Offload(p, httpx.Options{OnError: new(reports).onError})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.WriteString(w, "partial")
					<-release
				}))
			rec := httptest.NewRecorder()
			require.PanicsWithValue(t, http.ErrAbortHandler, func() {
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			})
			require.Equal(t, "partial", rec.Body.String())
			close(release)
			synctest.Wait()
		})
	})

	t.Run("a body read by a hung handler fails once it is detached", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second})
			release, read := make(chan struct{}), make(chan error, 1)
			h := httpx.Offload(p, httpx.Options{OnError: new(reports).onError})(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					<-release
					_, err := io.ReadAll(r.Body)
					read <- err
				}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", http.NoBody))
			close(release)
			require.True(t, errors.Is(<-read, httpx.ErrDetached))
			synctest.Wait()
		})
	})
}

func TestOffloadCancelledBeforeStart(t *testing.T) {
	t.Run("a request whose context already ended is never run", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1})
		var ran atomic.Bool
		h := httpx.Offload(p, httpx.Options{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran.Store(true) }))
		ctx, cancel := context.WithCancel(bg)
		cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))
		require.NoError(t, p.Close(bg))
		require.False(t, ran.Load())
		require.Empty(t, rec.Body.String())
	})
}
