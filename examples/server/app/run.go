package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/crewkit/crew/httpx"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/crewkit/crew/pool"
)

// Run builds the app configured by cfg and serves it on ln and admin as
// Serve does.
func Run(ctx context.Context, cfg Config, ln, admin net.Listener) error {
	a, err := New(cfg)
	if err != nil {
		_ = ln.Close()
		if admin != nil {
			_ = admin.Close()
		}
		return err
	}
	return a.Serve(ctx, ln, admin)
}

// Serve serves the app's public routes (Handler) on ln and, unless admin is
// nil, the operators' routes (AdminHandler) on admin, until ctx ends, then
// shuts down gracefully
// within Config.ShutdownTimeout, in three steps that each have their own
// share of it, so that one cannot spend another's:
//
//  1. the HTTP drain (two thirds): stop accepting connections and wait for
//     in-flight requests to be answered;
//  2. the pool's Close (the rest of the budget, at least a third): queued
//     and running tasks finish, and are cancelled when the budget ends;
//  3. close what is left: connections still open after the drain, such as
//     a client still sending a slow body, are cut, and the admin listener,
//     which served /metrics and /debug/ through the drain, is closed.
//
// It returns nil once everything stopped within the budget, even if it had
// to cut connections or cancel tasks (both are logged), and an error naming
// what did not stop otherwise, such as tasks that ignored cancellation.
// Call it at most once: the pool is closed when it returns.
func (a *App) Serve(ctx context.Context, ln, admin net.Listener) error {
	cfg, log := a.cfg, a.cfg.Logger
	adm := a.serveAdmin(admin)
	defer adm.stop()
	if a.dash != nil {
		a.dash.Start() // the dashboard shows history from the start
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ConnContext:       httpx.ConnContext, // a queued request whose client left is dropped even before net/http sees it
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readHeaderTimeout + cfg.BodyTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "admin_addr", adm.addr, "mode", cfg.Mode,
		"workers", cfg.Workers, "queue", cfg.QueueSize)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}

	select {
	case err := <-served: // the listener failed
		return errors.Join(err, a.Close(context.Background()))
	case <-ctx.Done():
	}
	return a.shutdown(srv, served)
}

// readHeaderTimeout bounds reading a request's headers.
const readHeaderTimeout = 5 * time.Second

// adminServer is the admin listener's server, or nothing without one.
type adminServer struct {
	srv    *http.Server // nil without an admin listener
	served chan error
	addr   string // the listener's address, or "" without one
}

// serveAdmin serves AdminHandler on ln in the background, unless ln is nil.
// It has no WriteTimeout, so that a CPU profile can take its time.
func (a *App) serveAdmin(ln net.Listener) *adminServer {
	if ln == nil {
		return &adminServer{}
	}
	s := &adminServer{
		srv: &http.Server{
			Handler: a.AdminHandler(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(a.cfg.Logger.Handler(), slog.LevelWarn),
		},
		served: make(chan error, 1), addr: ln.Addr().String(),
	}
	go func() { s.served <- s.srv.Serve(ln) }()
	return s
}

// stop closes the admin server and its connections, and waits for it.
func (s *adminServer) stop() {
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	<-s.served
}

// shutdown stops srv, whose Serve reports on served, and the pool, as Serve
// describes.
func (a *App) shutdown(srv *http.Server, served <-chan error) error {
	log, budget := a.cfg.Logger, a.cfg.ShutdownTimeout
	httpShare := budget * 2 / 3
	log.Info("shutting down", "timeout", budget.String(), "http_drain", httpShare.String(),
		"pool_drain", (budget - httpShare).String())
	start := time.Now()
	hctx, cancel := context.WithTimeout(context.Background(), httpShare)
	drained := srv.Shutdown(hctx)
	cancel()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		drained = errors.Join(drained, err)
	}
	pctx, cancel := context.WithDeadline(context.Background(), start.Add(budget))
	defer cancel()
	err := a.Close(pctx)
	if ce, ok := errors.AsType[*pool.CloseError](err); ok && len(ce.Hung) == 0 {
		// Every task returned within the budget, some of them cancelled.
		log.Warn("cancelled the pool's work left at the end of the budget", "err", err)
		err = nil
	}
	if cerr := srv.Close(); drained != nil || cerr != nil {
		log.Warn("closed connections that were still open after the HTTP drain", "err", errors.Join(drained, cerr))
	}
	if err != nil {
		err = fmt.Errorf("app: pool did not stop within the shutdown budget: %w", err)
		log.Error("shutdown incomplete", "err", err)
		return err
	}
	log.Info("stopped", "duration_ms", time.Since(start).Milliseconds())
	return nil
}
