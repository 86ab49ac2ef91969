package httpx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// check serves one GET through h and returns the status and body.
func check(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code, rec.Body.String()
}

func TestStatsHandler(t *testing.T) {
	t.Run("stats are served as JSON", func(t *testing.T) {
		p := newTasks(t, pool.Options{Name: "cpu", MaxWorkers: 3, QueueSize: 7})
		require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
		code, body := check(t, httpx.StatsHandler(p))
		require.Equal(t, http.StatusOK, code)
		var st pool.Stats
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		require.Equal(t, "cpu", st.Name)
		require.Equal(t, 3, st.Max)
		require.Equal(t, 7, st.QueueCap)
		require.Equal(t, uint64(1), st.Completed)
	})
}

func TestReadyHandler(t *testing.T) {
	t.Run("readiness flips to 503 when the queue passes the threshold and back when it drains", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 4})
		ready := httpx.ReadyHandler(p, httpx.ReadyOptions{Threshold: 0.5})
		code, _ := check(t, ready)
		require.Equal(t, http.StatusOK, code)

		release, started := make(chan struct{}), make(chan struct{})
		busy, err := p.TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
		require.NoError(t, err)
		<-started
		futs := fillQueue(t, p, release)
		code, body := check(t, ready)
		require.Equal(t, http.StatusServiceUnavailable, code)
		var rd httpx.Readiness
		require.NoError(t, json.Unmarshal([]byte(body), &rd))
		require.Equal(t, httpx.Readiness{Ready: false, State: "open", Queued: 4, QueueCap: 4, Busy: 1, Workers: 1}, rd)

		close(release)
		for _, f := range append(futs, busy) {
			_, err := f.Wait(bg)
			require.NoError(t, err)
		}
		code, _ = check(t, ready)
		require.Equal(t, http.StatusOK, code)
	})

	t.Run("an Unbounded queue is measured against its buffer", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: pool.Unbounded})
		ready := httpx.ReadyHandler(p, httpx.ReadyOptions{Threshold: 0.5})
		code, _ := check(t, ready)
		require.Equal(t, http.StatusOK, code)
		release, started := make(chan struct{}), make(chan struct{})
		require.NoError(t, p.TryGo(bg, func(context.Context) error { close(started); <-release; return nil }))
		<-started
		for range pool.DefaultQueueSize/2 + 1 {
			require.NoError(t, p.TryGo(bg, func(context.Context) error { <-release; return nil }))
		}
		code, _ = check(t, ready)
		require.Equal(t, http.StatusServiceUnavailable, code)
		close(release)
	})

	t.Run("a closing pool is not ready", func(t *testing.T) {
		p, err := pool.NewTasks(pool.Options{})
		require.NoError(t, err)
		require.NoError(t, p.Close(bg))
		code, body := check(t, httpx.ReadyHandler(p, httpx.ReadyOptions{}))
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body, `"ready":false`)
	})
}

func TestLiveHandler(t *testing.T) {
	t.Run("a working pool is live", func(t *testing.T) {
		code, body := check(t, httpx.LiveHandler(newTasks(t, pool.Options{})))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok\n", body)
	})

	t.Run("a failed pool is not live", func(t *testing.T) {
		// A closure pool fails only when hung tasks exhaust its restart
		// policy: panics fail just their own task.
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p, err := pool.NewTasks(pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second,
				Restart: pool.RestartPolicy{MaxRestarts: 1}})
			require.NoError(t, err)
			for range 2 {
				_ = p.Run(bg, func(context.Context) error { <-release; return nil }) // ignores ctx: hangs
			}
			require.Equal(t, "failed", p.Stats().State)
			code, body := check(t, httpx.LiveHandler(p))
			require.Equal(t, http.StatusServiceUnavailable, code)
			require.Equal(t, "pool failed\n", body)
			close(release)
			synctest.Wait()
			require.NoError(t, p.Close(bg))
		})
	})

}
