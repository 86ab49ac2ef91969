package httpx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
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
	t.Run("stats are snake_case JSON with durations in milliseconds and the sampled count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{Name: "cpu", MaxWorkers: 3, QueueSize: 7})
			require.NoError(t, err)
			for range 4 {
				require.NoError(t, p.Run(bg, func(context.Context) error { time.Sleep(10 * time.Millisecond); return nil }))
			}
			code, body := check(t, httpx.StatsHandler(p))
			require.Equal(t, http.StatusOK, code)
			require.NoError(t, p.Close(bg))

			var raw map[string]any
			require.NoError(t, json.Unmarshal([]byte(body), &raw))
			requireSnakeCase(t, raw)
			var st httpx.Stats
			require.NoError(t, json.Unmarshal([]byte(body), &st))
			require.Equal(t, "cpu", st.Name)
			require.Equal(t, 3, st.MaxWorkers)
			require.Equal(t, 7, st.QueueCap)
			require.Equal(t, uint64(4), st.Completed)
			require.Equal(t, uint64(4), st.RunSampled)
			require.Equal(t, 10.0, st.RunMeanMs, "every task ran 10ms of fake time")
			require.Equal(t, 10.0, st.RunMaxMs)
			require.InDelta(t, 10.0, st.RunP99Ms, 1.25, "percentiles are within 12.5%")
			require.Equal(t, 0.0, st.WaitMaxMs, "each task found an idle worker")
			require.Contains(t, body, `"run_p99_ms":`)
		})
	})

	t.Run("stats carry the process's goroutines, heap and GC figures", func(t *testing.T) {
		runtime.GC()
		_, body := check(t, httpx.StatsHandler(newTasks(t, pool.Options{})))
		var st httpx.Stats
		require.NoError(t, json.Unmarshal([]byte(body), &st))
		require.Positive(t, st.Runtime.Goroutines)
		require.Positive(t, st.Runtime.HeapBytes)
		require.GreaterOrEqual(t, st.Runtime.HeapGoalBytes, st.Runtime.HeapBytes/2)
		require.GreaterOrEqual(t, st.Runtime.TotalBytes, st.Runtime.HeapBytes)
		require.Positive(t, st.Runtime.GCCycles, "a GC ran above")
		require.Equal(t, runtime.GOMAXPROCS(0), st.Runtime.GOMAXPROCS)
		require.Contains(t, body, `"runtime":{"goroutines":`)
	})
}

// snakeCase matches a JSON key in snake_case.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// requireSnakeCase checks that every key in v, at any depth, is snake_case.
func requireSnakeCase(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			require.Regexp(t, snakeCase, k)
			requireSnakeCase(t, inner)
		}
	case []any:
		for _, inner := range v {
			requireSnakeCase(t, inner)
		}
	}
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

func TestStatsOf(t *testing.T) {
	t.Run("every field of pool.Stats reaches the JSON, durations as milliseconds", func(t *testing.T) {
		// Give every field of pool.Stats a distinct value: integers 1, 2,
		// 3... and durations 1ms, 2ms... in their latencies.
		var st pool.Stats
		v := reflect.ValueOf(&st).Elem()
		want := map[float64]bool{}
		next := 0
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Int, reflect.Uint64:
				next++
				if f.Kind() == reflect.Int {
					f.SetInt(int64(next))
				} else {
					f.SetUint(uint64(next))
				}
				want[float64(next)] = true
			case reflect.Float64:
				f.SetFloat(0.5)
				want[0.5] = true
			case reflect.Struct: // a pool.Latency
				for j := range f.NumField() {
					if f.Field(j).Kind() == reflect.Slice {
						continue // Buckets: for histograms (package prom), not in the JSON
					}
					next++
					if f.Field(j).Kind() == reflect.Uint64 {
						f.Field(j).SetUint(uint64(next))
					} else {
						f.Field(j).SetInt(int64(time.Duration(next) * time.Millisecond))
					}
					want[float64(next)] = true
				}
			}
		}
		st.Name, st.State = "cpu", "open"

		b, err := json.Marshal(httpx.StatsOf(st, httpx.Runtime{}))
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.Unmarshal(b, &body))
		require.Equal(t, "cpu", body["name"])
		require.Equal(t, "open", body["state"])
		got := map[float64]bool{}
		for k, v := range body {
			if n, ok := v.(float64); ok {
				require.False(t, got[n], "%s repeats the value %v", k, n)
				got[n] = true
			}
		}
		require.Equal(t, want, got, "each pool.Stats field appears once, under its own key")
	})
}
