package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Run builds the app configured by cfg and serves it on ln as Serve does.
func Run(ctx context.Context, cfg Config, ln net.Listener) error {
	a, err := New(cfg)
	if err != nil {
		_ = ln.Close()
		return err
	}
	return a.Serve(ctx, ln)
}

// Serve serves the app on ln until ctx ends, then shuts down gracefully: it
// stops accepting connections, waits for in-flight requests to be answered,
// and drains the pool, all within Config.ShutdownTimeout. It returns nil
// after a clean shutdown, and an error naming what did not stop otherwise.
// Call it at most once: the pool is closed when it returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	cfg, log := a.cfg, a.cfg.Logger
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "mode", cfg.Mode,
		"workers", cfg.Workers, "queue", cfg.QueueSize)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}

	select {
	case err := <-served: // the listener failed
		return errors.Join(err, a.Close(context.Background()))
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(<-served, http.ErrServerClosed) {
		err = errors.Join(err, a.Close(sctx))
	}
	if err != nil {
		log.Error("shutdown incomplete", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}
