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
		rec := dashboardGet(h, "/debug/dashboard")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		require.Contains(t, rec.Body.String(), "<h1>thumbnails</h1>")
		require.Contains(t, rec.Body.String(), "<title>thumbnails · crew pool</title>")
	})

	t.Run("a pool name with markup is escaped", func(t *testing.T) {
		name := `<script>alert("x")</script>`
		page := dashboardGet(httpx.DashboardHandler(newTasks(t, pool.Options{Name: name}), httpx.DashboardOptions{}), "/").Body.String()
		require.NotContains(t, page, `<script>alert`)
		require.Contains(t, page, "<h1>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</h1>")
		pageScript(t, page)
	})

	t.Run("by default the page polls its own URL for stats and gets them there", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{Name: "cpu"}), httpx.DashboardOptions{})
		page := dashboardGet(h, "/").Body.String()
		require.Contains(t, page, `data-stats="?format=json"`)
		require.Contains(t, page, `data-interval="1000"`)

		rec := dashboardGet(h, "/debug/dashboard?format=json")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var st pool.Stats
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
		require.Equal(t, "cpu", st.Name)
	})

	t.Run("the page polls StatsURL at Interval when they are set", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{}), httpx.DashboardOptions{
			StatsURL: "/debug/pool?pretty=1&x=\"y\"", Interval: 250 * time.Millisecond,
		})
		page := dashboardGet(h, "/").Body.String()
		require.Contains(t, page, `data-stats="/debug/pool?pretty=1&amp;x=&#34;y&#34;"`)
		require.Contains(t, page, `data-interval="250"`)
	})

	t.Run("only the page's own script may run and it may fetch only from its origin", func(t *testing.T) {
		h := httpx.DashboardHandler(newTasks(t, pool.Options{Name: "<b>"}), httpx.DashboardOptions{})
		rec := dashboardGet(h, "/")
		sum := sha256.Sum256([]byte(pageScript(t, rec.Body.String())))
		csp := rec.Header().Get("Content-Security-Policy")
		require.Contains(t, csp, "default-src 'none'")
		require.Contains(t, csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		require.Contains(t, csp, "connect-src 'self'")
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	})

	t.Run("the page loads nothing from elsewhere and never writes stats as HTML", func(t *testing.T) {
		page := dashboardGet(httpx.DashboardHandler(newTasks(t, pool.Options{}), httpx.DashboardOptions{}), "/").Body.String()
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
		require.Panics(t, func() { httpx.DashboardHandler(p, httpx.DashboardOptions{StatsURL: "/stats\x7f"}) })
	})
}

// statsRead matches the page's reads of the stats object, which its script
// always names s: s.Busy, s.RunTime.P99.
var statsRead = regexp.MustCompile(`\bs\.([A-Z]\w*(?:\.[A-Z]\w*)*)`)

func TestDashboardReadsOnlyServedFields(t *testing.T) {
	t.Run("every stats field the page reads is in the JSON it polls", func(t *testing.T) {
		p := newTasks(t, pool.Options{Name: "cpu", MaxWorkers: 2, QueueSize: 8})
		require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
		h := httpx.DashboardHandler(p, httpx.DashboardOptions{})

		read := map[string]bool{}
		for _, m := range statsRead.FindAllStringSubmatch(pageScript(t, dashboardGet(h, "/").Body.String()), -1) {
			read[m[1]] = true
		}
		for _, shown := range []string{
			"State", "Busy", "Idle", "Hung", "Workers", "Max", "Queued", "QueueCap", "Completed",
			"Failed", "Panicked", "Rejected", "TimedOut", "Utilization",
			"RunTime.P50", "RunTime.P90", "RunTime.P99", "RunTime.Max", "RunTime.Mean",
			"WaitTime.P50", "WaitTime.P90", "WaitTime.P99", "WaitTime.Max", "WaitTime.Mean",
		} {
			require.True(t, read[shown], "the page shows %s", shown)
		}

		var stats map[string]any
		require.NoError(t, json.Unmarshal(dashboardGet(h, "/?format=json").Body.Bytes(), &stats))
		for field := range read {
			var v any = stats
			for name := range strings.SplitSeq(field, ".") {
				obj, ok := v.(map[string]any)
				require.True(t, ok, "%s: the JSON has an object above %s", field, name)
				v, ok = obj[name]
				require.True(t, ok, "the page reads s.%s, which the stats JSON lacks", field)
			}
			if field != "State" && field != "Name" {
				require.IsType(t, float64(0), v, "s.%s is a number", field)
			}
		}
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

	r := chi.NewRouter()
	r.Handle("/debug/dashboard", httpx.DashboardHandler(p, httpx.DashboardOptions{}))

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/dashboard", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))

	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/dashboard?format=json", nil))
	var st pool.Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		panic(err)
	}
	fmt.Println(st.Name, st.State, st.Max)
	// Output:
	// 200 text/html; charset=utf-8
	// cpu open 2
}
