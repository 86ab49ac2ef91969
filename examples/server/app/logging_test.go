package app_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

// logBuffer collects JSON log lines; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// logger returns a logger writing to b at every level.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lines returns the lines logged with message msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(l, &m), string(l))
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// counts returns the count field of each "requests rejected" line.
func (b *logBuffer) counts(t *testing.T) []float64 {
	t.Helper()
	var n []float64
	for _, l := range b.lines(t, "requests rejected") {
		n = append(n, l["count"].(float64))
	}
	return n
}

func TestRejectionLog(t *testing.T) {
	t.Run("rejections are logged as a count at most once a second", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs logBuffer
			a, err := app.New(app.Config{Workers: 1, QueueSize: 1, Logger: logs.logger()})
			require.NoError(t, err)
			release := make(chan struct{})
			futs := occupy(t, a.Pool(), release)
			h := a.Handler()
			reject := func(n int) {
				for range n {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/digest?rounds=1", nil))
					require.Equal(t, http.StatusServiceUnavailable, w.Code)
				}
			}

			reject(100)
			require.Equal(t, []float64{1}, logs.counts(t), "the first rejection is logged at once, the others wait")
			time.Sleep(999 * time.Millisecond)
			reject(10)
			synctest.Wait()
			require.Equal(t, []float64{1}, logs.counts(t), "not twice within a second")
			time.Sleep(time.Millisecond)
			synctest.Wait()
			require.Equal(t, []float64{1, 109}, logs.counts(t))
			reject(50)
			require.Equal(t, []float64{1, 109}, logs.counts(t))

			close(release)
			waitAll(t, futs)
			require.NoError(t, a.Close(bg))
			require.Equal(t, []float64{1, 109, 50}, logs.counts(t), "Close logs what was pending")
			require.Empty(t, logs.lines(t, "request"), "no line per rejection")
		})
	})
	t.Run("other requests are still logged one by one", func(t *testing.T) {
		var logs logBuffer
		_, srv := start(t, app.Config{Workers: 1, Logger: logs.logger()})
		require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/digest?rounds=1").code)
		require.Equal(t, http.StatusNotFound, get(t, srv.URL+"/nope").code)
		lines := logs.lines(t, "request")
		require.Len(t, lines, 2)
		require.Equal(t, float64(http.StatusNotFound), lines[1]["status"])
	})
}
