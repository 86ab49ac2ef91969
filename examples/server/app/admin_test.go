package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/crewkit/crew/httpx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// serving is an app served on a public and an admin loopback listener.
type serving struct {
	*app.App
	public, admin string // base URLs
}

// serveBoth serves a new app on two loopback listeners, as the server
// command does, and shuts it down when the test ends.
func serveBoth(t *testing.T, cfg app.Config) serving {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	a, err := app.New(cfg)
	require.NoError(t, err)
	pub, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adm, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(bg)
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, pub, adm) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-served)
	})
	return serving{App: a, public: "http://" + pub.Addr().String(), admin: "http://" + adm.Addr().String()}
}

// adminPaths are the operators' routes.
var adminPaths = []string{
	"/metrics", "/debug/pool", "/debug/dashboard", "/debug/dashboard?format=json",
	"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline",
}

func TestAdminListener(t *testing.T) {
	t.Run("the public listener answers 404 for every admin route", func(t *testing.T) {
		s := serveBoth(t, app.Config{Workers: 2})
		for _, path := range append(adminPaths, "/debug/pprof/heap", "/debug/pprof/profile?seconds=1") {
			r := get(t, s.public+path)
			require.Equal(t, http.StatusNotFound, r.code, path)
			require.Equal(t, "no endpoint at "+strings.SplitN(path, "?", 2)[0], r.json(t)["error"], path)
		}
		require.Equal(t, http.StatusOK, get(t, s.public+"/healthz").code)
	})

	t.Run("the admin listener serves metrics, stats, the dashboard and pprof, and nothing public", func(t *testing.T) {
		s := serveBoth(t, app.Config{Workers: 2})
		require.Equal(t, http.StatusOK, get(t, s.public+"/api/digest?rounds=10").code)
		for _, path := range adminPaths {
			require.Equal(t, http.StatusOK, get(t, s.admin+path).code, path)
		}
		for _, path := range []string{"/api/digest?rounds=10", "/healthz", "/nothing"} {
			require.Equal(t, http.StatusNotFound, get(t, s.admin+path).code, path)
		}

		metrics := string(get(t, s.admin+"/metrics").body)
		require.Contains(t, metrics, `crew_pool_tasks_total{outcome="completed",pool="cpu"} 1`)
		require.Contains(t, metrics, `crew_pool_workers_max{pool="cpu"} 2`)
		require.Contains(t, metrics, "go_goroutines ")
		require.Contains(t, metrics, "process_resident_memory_bytes ")
		require.Contains(t, metrics, `http_request_duration_seconds_count{code="200",method="GET",route="/api/digest"} 1`)
		require.Contains(t, metrics, `http_request_duration_seconds_bucket{code="200",method="GET",route="/api/digest",le="+Inf"} 1`)

		st := get(t, s.admin+"/debug/pool").json(t)
		require.Equal(t, 1.0, st["completed"])
		require.Equal(t, 1.0, st["run_sampled"])
		require.Contains(t, st, "run_p99_ms")
		rt := st["runtime"].(map[string]any)
		require.Positive(t, rt["goroutines"])
		require.Positive(t, rt["heap_bytes"])
		require.Contains(t, rt, "gc_cycles")

		page := string(get(t, s.admin+"/debug/dashboard").body)
		require.Contains(t, page, "<h1>cpu</h1>")
		require.Contains(t, string(get(t, s.admin+"/debug/pprof/goroutine?debug=1").body), "goroutine profile:")
	})

	t.Run("outside pool mode the admin listener serves metrics and runtime figures", func(t *testing.T) {
		s := serveBoth(t, app.Config{Mode: app.ModePlain, Workers: 2})
		require.Contains(t, string(get(t, s.admin+"/metrics").body), "go_goroutines ")
		require.NotContains(t, string(get(t, s.admin+"/metrics").body), "crew_pool_")
		st := get(t, s.admin+"/debug/pool").json(t)
		require.Equal(t, "plain", st["mode"])
		require.Equal(t, 2.0, st["workers"])
		require.Positive(t, st["runtime"].(map[string]any)["goroutines"])
		require.Equal(t, http.StatusNotFound, get(t, s.admin+"/debug/dashboard").code)
	})

	t.Run("admin requests are logged at debug level only", func(t *testing.T) {
		var logs logBuffer
		s := serveBoth(t, app.Config{Workers: 1, Logger: logs.logger()})
		for range 3 {
			get(t, s.admin+"/debug/dashboard?format=json")
		}
		get(t, s.admin+"/metrics")
		get(t, s.public+"/healthz")
		var levels []string
		for _, l := range logs.lines(t, "request") {
			if strings.HasPrefix(l["path"].(string), "/debug/") || l["path"] == "/metrics" {
				levels = append(levels, l["level"].(string))
			} else {
				require.Equal(t, "INFO", l["level"], "public requests stay at Info")
			}
		}
		require.Equal(t, []string{"DEBUG", "DEBUG", "DEBUG", "DEBUG"}, levels)
	})

	t.Run("the metrics pass client_golang's lint and label requests by route, not by path", func(t *testing.T) {
		s := serveBoth(t, app.Config{Workers: 1})
		get(t, s.public+"/api/digest?rounds=5")
		get(t, s.public+"/no/such/path")
		get(t, s.public+"/another/missing/path")
		do(t, "BREW", s.public+"/api/digest", "", nil)
		metrics := get(t, s.admin+"/metrics").body
		problems, err := testutil.GatherAndLint(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(bytes.NewReader(metrics))
			if err != nil {
				return nil, err
			}
			var out []*dto.MetricFamily
			for _, f := range families {
				out = append(out, f)
			}
			return out, nil
		}), "http_request_duration_seconds", "crew_pool_tasks_total", "crew_pool_task_run_seconds")
		require.NoError(t, err)
		require.Empty(t, problems)
		text := string(metrics)
		for _, line := range []string{
			`http_request_duration_seconds_count{code="200",method="GET",route="/api/digest"} 1`,
			`http_request_duration_seconds_count{code="404",method="GET",route="unmatched"} 2`,
			`http_request_duration_seconds_count{code="405",method="other",route="unmatched"} 1`,
		} {
			require.True(t, strings.Contains(text, line), "/metrics lacks %s", line)
		}
	})
}

func TestAdminDashboard(t *testing.T) {
	t.Run("the dashboard samples from the server's start, so its first page has history", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, err := app.New(app.Config{Workers: 1, Logger: quiet})
			require.NoError(t, err)
			pub, adm := newPipeListener(), newPipeListener()
			ctx, cancel := context.WithCancel(bg)
			served := make(chan error, 1)
			go func() { served <- a.Serve(ctx, pub, adm) }()
			time.Sleep(90*time.Second + time.Millisecond) // no request meanwhile

			c := adm.dial(t)
			sendHead(t, c, http.MethodGet, "/debug/dashboard?format=json", 0)
			r := readReply(t, c)
			require.Equal(t, http.StatusOK, r.code)
			var data httpx.DashboardData
			require.NoError(t, json.Unmarshal(r.body, &data))
			require.Len(t, data.History, 90, "a sample a second since Serve started")
			require.Equal(t, 60.0, data.Window.Seconds)
			require.Equal(t, "cpu", data.Stats.Name)

			cancel()
			require.NoError(t, <-served)
		})
	})
}
