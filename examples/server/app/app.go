package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// App is the server's handler and the pool behind it.
type App struct {
	cfg  Config
	pool *pool.Tasks      // nil unless ModePool
	off  *httpx.Offloader // nil unless ModePool
	cpu  func(http.Handler) http.Handler

	procs      *pool.Pool[Job, Result] // nil unless ModeProc
	remoteCall http.Handler            // httpx.Handle on procs; see remote
	mon        httpx.Pool              // pool or procs; nil in plain and throttle modes

	live, ready, stats http.Handler
	dash               *httpx.Dashboard     // nil unless ModePool or ModeProc
	metrics            *prometheus.Registry // what /metrics serves
	requests           *requestMetrics      // public requests' durations, in metrics
	rejects            *rejectLog
}

// New builds the server configured by cfg; in pool mode it starts its pool,
// in proc mode its pool of process workers.
// It returns an error for an invalid Config.
func New(cfg Config) (*App, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, cpu: func(h http.Handler) http.Handler { return h }, rejects: &rejectLog{log: cfg.Logger}}
	a.live = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	a.ready = jsonHandler(map[string]any{"ready": true, "mode": cfg.Mode})
	a.stats = a.modeStats()
	switch cfg.Mode {
	case ModePool:
		err = a.startPool()
	case ModeProc:
		err = a.startProcs()
	case ModeThrottle:
		a.cpu = middleware.ThrottleWithOpts(middleware.ThrottleOpts{
			Limit: cfg.Workers, BacklogLimit: cfg.QueueSize, BacklogTimeout: cfg.TaskTimeout,
			StatusCode:   http.StatusServiceUnavailable,
			RetryAfterFn: func(bool) time.Duration { return time.Second },
		})
	}
	if err != nil {
		return nil, err
	}
	if a.mon != nil {
		a.live, a.stats = httpx.LiveHandler(a.mon), httpx.StatsHandler(a.mon)
		a.ready = httpx.ReadyHandler(a.mon, httpx.ReadyOptions{})
		a.dash = httpx.DashboardHandler(a.mon, httpx.DashboardOptions{})
	}
	a.requests = newRequestMetrics()
	a.metrics = a.newRegistry()
	return a, nil
}

func (a *App) startPool() error {
	p, err := pool.NewTasks(pool.Options{
		Name: "cpu", MaxWorkers: a.cfg.Workers, MinWorkers: a.cfg.Workers,
		QueueSize: a.cfg.QueueSize, TaskTimeout: a.cfg.TaskTimeout,
		// A closure pool keeps its workers through panics: a panicking
		// request gets 500 and cannot fail the pool.
	})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.pool, a.mon = p, p
	a.off, err = httpx.New(p, httpx.Options{MaxWait: a.cfg.MaxWait, OnError: a.handlerFailed})
	if err != nil {
		return err
	}
	a.cpu = a.off.Handler
	return nil
}

// Pool returns the server's pool, or nil outside ModePool.
func (a *App) Pool() *pool.Tasks { return a.pool }

// Stats returns the stats of the server's pool, of goroutine workers in
// ModePool or of process workers in ModeProc, and false in the modes
// without a pool.
func (a *App) Stats() (pool.Stats, bool) {
	if a.mon == nil {
		return pool.Stats{}, false
	}
	return a.mon.Stats(), true
}

// Config returns the server's configuration with its defaults filled in.
func (a *App) Config() Config { return a.cfg }

// Handler returns the server's public routes: the API, /healthz and
// /readyz. With Config.CrashEndpoint it also serves GET /api/crash, whose
// behaviour crash describes. The operators' routes (/metrics, /debug/...)
// are AdminHandler's, never served here. Every error response, 404 and 405
// included, is JSON: {"error": "..."}.
func (a *App) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, a.logRequests, a.requests.observe, jsonErrors, middleware.Recoverer, a.bodyDeadline)
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))
	r.Route("/api", func(r chi.Router) {
		r.With(a.cpu).Get("/digest", a.digest)
		r.With(a.throttleOnly).Post("/hash", a.hash)
		r.With(a.throttleOnly).Post("/verify", a.verify)
		r.With(a.throttleOnly).Post("/thumbnail", a.thumbnail)
		if a.cfg.CrashEndpoint {
			r.With(a.throttleOnly).Get("/crash", a.crash)
		}
	})
	r.Method(http.MethodGet, "/healthz", a.live)
	r.Method(http.MethodGet, "/readyz", a.ready)
	return r
}

// throttleOnly bounds a whole handler in throttle mode, as chi's Throttle
// does. In pool mode the handler reads its body on the request goroutine and
// offloads only its CPU part with httpx.Compute, so that a slow client never
// holds a worker.
func (a *App) throttleOnly(next http.Handler) http.Handler {
	if a.cfg.Mode == ModeThrottle {
		return a.cpu(next)
	}
	return next
}

// Close drains the pool: queued and running requests finish, until ctx ends.
// In ModeProc it then stops every child process.
// It also stops the dashboard's sampling and logs the rejections counted
// but not logged yet.
func (a *App) Close(ctx context.Context) error {
	a.rejects.stop()
	if a.dash != nil {
		a.dash.Close()
	}
	switch {
	case a.pool != nil:
		return a.pool.Close(ctx)
	case a.procs != nil:
		return a.procs.Close(ctx)
	}
	return nil
}

func jsonHandler(v any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, v) })
}

// handlerFailed logs a handler that panicked or timed out.
func (a *App) handlerFailed(r *http.Request, err error) {
	a.cfg.Logger.ErrorContext(r.Context(), "handler failed", "method", r.Method, "path", r.URL.Path,
		"request_id", middleware.GetReqID(r.Context()), "err", err)
}
