package httpx_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
)

// dashboardGet serves one GET of target through h.
func dashboardGet(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

// pageScript returns the body of the page's one inline script.
func pageScript(t *testing.T, page string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(page, "<script"), "the page has exactly one script")
	_, script, _ := strings.Cut(page, "<script>")
	script, _, ok := strings.Cut(script, "</script>")
	require.True(t, ok)
	return script
}

func TestDashboardHandler(t *testing.T) {
	t.Run("the page is HTML that names the pool", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{Name: "thumbnails"}), httpx.DashboardOptions{})
		t.Cleanup(h.Close)
		rec := dashboardGet(h, "/debug/dashboard")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		require.Contains(t, rec.Body.String(), "<h1>thumbnails</h1>")
		require.Contains(t, rec.Body.String(), "<title>thumbnails · crew pool</title>")
	})

	t.Run("a pool name with markup is escaped", func(t *testing.T) {
		name := `<script>alert("x")</script>`
		h := httpx.DashboardHandler(newTasks(t, pool.Options{Name: name}), httpx.DashboardOptions{})
		t.Cleanup(h.Close)
		page := dashboardGet(h, "/").Body.String()
		require.NotContains(t, page, `<script>alert`)
		require.Contains(t, page, "<h1>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</h1>")
		pageScript(t, page)
	})

	t.Run("the page polls its own URL at Interval", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{}), httpx.DashboardOptions{Interval: 250 * time.Millisecond})
		t.Cleanup(h.Close)
		page := dashboardGet(h, "/").Body.String()
		require.Contains(t, page, `data-interval="250"`)
		require.Contains(t, page, `data-window="60000"`)
		require.Contains(t, page, `data-history="300000"`)
		require.Contains(t, pageScript(t, page), `"?format=json"`)
	})

	t.Run("only the page's own script may run and it may fetch only from its origin", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{Name: "<b>"}), httpx.DashboardOptions{})
		t.Cleanup(h.Close)
		rec := dashboardGet(h, "/")
		sum := sha256.Sum256([]byte(pageScript(t, rec.Body.String())))
		csp := rec.Header().Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'")
		require.Contains(t, csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		require.Contains(t, csp, "connect-src 'self'")
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	})

	t.Run("the page loads nothing from elsewhere and never writes stats as HTML", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{}), httpx.DashboardOptions{})
		t.Cleanup(h.Close)
		page := dashboardGet(h, "/").Body.String()
		require.NotRegexp(t, `(?i)(src|href)="(https?:)?//`, page)
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			require.NotContains(t, page, sink)
		}
	})

	t.Run("invalid options panic at construction", func(t *testing.T) {
		p := newTasks(t, pool.Options{})
		require.PanicsWithValue(t, "httpx: DashboardHandler needs a non-nil pool", func() {
			httpx.DashboardHandler(nil, httpx.DashboardOptions{})
		})
		require.PanicsWithValue(t, "httpx: DashboardOptions.Interval must be 0 or >= 100ms, got -1s", func() {
			httpx.DashboardHandler(p, httpx.DashboardOptions{Interval: -time.Second})
		})
		require.PanicsWithValue(t, "httpx: DashboardOptions.Interval must be 0 or >= 100ms, got 10ms", func() {
			httpx.DashboardHandler(p, httpx.DashboardOptions{Interval: 10 * time.Millisecond})
		})
		require.PanicsWithValue(t, "httpx: DashboardOptions.Window must be 0 or in [2 Intervals, History] = [2s, 5m0s], got 1s",
			func() { httpx.DashboardHandler(p, httpx.DashboardOptions{Window: time.Second}) })
		require.PanicsWithValue(t, "httpx: DashboardOptions.Window must be 0 or in [2 Intervals, History] = [2s, 1m0s], got 2m0s",
			func() {
				httpx.DashboardHandler(p, httpx.DashboardOptions{Window: 2 * time.Minute, History: time.Minute})
			})
		require.PanicsWithValue(t, "httpx: DashboardOptions.History must hold at most 3600 samples of Interval 100ms, got 10m0s (6000 samples)",
			func() {
				httpx.DashboardHandler(p, httpx.DashboardOptions{Interval: 100 * time.Millisecond, History: 10 * time.Minute})
			})
	})
}

// fieldRead matches the page's reads of the data it polls, whose objects
// its script always names the same way: data (the whole body), s (its
// stats), rt (the stats' runtime), w (its window) and pt (a history point).
var fieldRead = regexp.MustCompile(`\b(data|s|rt|w|pt)\.([a-z0-9_]+)\b`)

func TestDashboardReadsOnlyServedFields(t *testing.T) {
	t.Run("every field the page reads is in the JSON it polls", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{Name: "cpu", MaxWorkers: 2, QueueSize: 8})
			require.NoError(t, err)
			h := httpx.DashboardHandler(p, httpx.DashboardOptions{})
			t.Cleanup(func() { h.Close(); require.NoError(t, p.Close(bg)) })
			h.Start()
			require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
			time.Sleep(2500 * time.Millisecond)

			read := map[string]map[string]bool{}
			for _, m := range fieldRead.FindAllStringSubmatch(pageScript(t, dashboardGet(h, "/").Body.String()), -1) {
				if read[m[1]] == nil {
					read[m[1]] = map[string]bool{}
				}
				read[m[1]][m[2]] = true
			}
			for _, shown := range []string{
				"state", "busy", "idle", "hung", "workers", "max_workers", "queued", "queue_cap", "completed",
				"failed", "panicked", "rejected", "timed_out", "utilization", "run_sampled", "wait_sampled",
				"run_p50_ms", "run_p90_ms", "run_p99_ms", "run_max_ms", "run_mean_ms",
				"wait_p50_ms", "wait_p90_ms", "wait_p99_ms", "wait_max_ms", "wait_mean_ms",
			} {
				require.True(t, read["s"][shown], "the page shows s.%s", shown)
			}
			for _, shown := range []string{"completed_per_sec", "run_sampled", "run_mean_ms", "wait_mean_ms"} {
				require.True(t, read["w"][shown], "the page shows w.%s", shown)
			}
			require.True(t, read["rt"]["goroutines"], "the page shows the goroutines")
			require.True(t, read["pt"]["t"], "the charts have a time axis")

			var body map[string]any
			require.NoError(t, json.Unmarshal(dashboardGet(h, "/?format=json").Body.Bytes(), &body))
			stats := body["stats"].(map[string]any)
			history := body["history"].([]any)
			require.Len(t, history, 2, "samples at 0s, 1s and 2s make two points")
			objects := map[string]map[string]any{
				"data": body, "s": stats, "rt": stats["runtime"].(map[string]any),
				"w": body["window"].(map[string]any), "pt": history[0].(map[string]any),
			}
			for obj, fields := range read {
				for field := range fields {
					v, ok := objects[obj][field]
					require.True(t, ok, "the page reads %s.%s, which the JSON lacks", obj, field)
					if field != "state" && field != "name" && obj != "data" && field != "runtime" {
						require.IsType(t, float64(0), v, "%s.%s is a number", obj, field)
					}
				}
			}
		})
	})
}

// DashboardHandler serves a live page of the pool's stats; the same URL
// with ?format=json serves the stats the page polls.
func ExampleDashboardHandler() {
	p, err := pool.NewTasks(pool.Options{Name: "cpu", MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	d := httpx.DashboardHandler(p, httpx.DashboardOptions{})
	defer d.Close() // stops sampling the pool
	r := chi.NewRouter()
	r.Handle("/debug/dashboard", d)

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/dashboard", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))

	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/dashboard?format=json", nil))
	var data httpx.DashboardData
	if err := json.Unmarshal(rec.Body.Bytes(), &data); err != nil {
		panic(err)
	}
	fmt.Println(data.Stats.Name, data.Stats.State, data.Stats.MaxWorkers, data.WindowMs)
	// Output:
	// 200 text/html; charset=utf-8
	// cpu open 2 60000
}
