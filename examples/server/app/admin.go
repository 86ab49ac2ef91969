package app

import (
	"net/http"
	"net/http/pprof"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/prom"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry returns the Prometheus registry of /metrics: the public
// requests' durations, the Go runtime's and the process's collectors, and
// in pool and proc modes the pool's.
func (a *App) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.requests.hist, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.mon != nil {
		reg.MustRegister(prom.NewCollector(a.mon, prom.Options{}))
	}
	return reg
}

// AdminHandler returns the operators' routes, which Serve serves on the
// admin listener and never on the public one:
//
//   - /metrics: Prometheus metrics of the pool (package prom), of the
//     public requests (http_request_duration_seconds, a histogram by route,
//     method and status), the Go runtime and the process;
//   - /debug/pool: the pool's stats and the runtime's figures as JSON
//     (httpx.StatsHandler; in plain and throttle modes the mode, workers, queue_cap
//     and runtime);
//   - /debug/dashboard: the live dashboard (pool and proc modes);
//   - /debug/pprof/: net/http/pprof's profiles.
//
// Requests are logged at Debug level only, so a dashboard or a scraper
// polling it adds no line to the Info log. Every other path gets a JSON
// 404.
func (a *App) AdminHandler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, a.logRequestsAt(adminLogLevel), jsonErrors, middleware.Recoverer)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{}))
	r.Method(http.MethodGet, "/debug/pool", a.stats)
	if a.dash != nil {
		r.Method(http.MethodGet, "/debug/dashboard", a.dash)
	}
	r.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles below it: heap, goroutine...
	r.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	r.HandleFunc("/debug/pprof/profile", pprof.Profile)
	r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	r.HandleFunc("/debug/pprof/trace", pprof.Trace)
	r.Handle("/debug/pprof/{profile}", http.HandlerFunc(pprof.Index))
	return r
}

// modeStats serves /debug/pool in plain and throttle modes: the configuration and
// the runtime's figures.
func (a *App) modeStats() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"mode": a.cfg.Mode, "workers": a.cfg.Workers, "queue_cap": a.cfg.QueueSize, "runtime": httpx.ReadRuntime(),
		})
	})
}
