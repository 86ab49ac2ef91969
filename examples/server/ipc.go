package main

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/examples/server/app"
)

// serve builds the app and serves it as app.Run does. Under
// examples/cluster's manager (CREW_IPC is set) it also joins the manager's
// channel: it answers heartbeats with its readiness and pool stats, and
// applies the log level the manager broadcasts to level. Started by hand,
// it serves the same way without a channel.
func serve(ctx context.Context, cfg app.Config, level *slog.LevelVar, ln, admin net.Listener) error {
	a, err := app.New(cfg)
	if err == nil {
		var child *ipc.Child
		child, err = ipc.Open(ipc.ChildOptions{Level: level, Logger: cfg.Logger, Report: report(a)})
		if err == nil {
			defer child.Close()
			return a.Serve(ctx, ln, admin)
		}
		err = errors.Join(err, a.Close(ctx))
	}
	err = errors.Join(err, ln.Close())
	if admin != nil {
		err = errors.Join(err, admin.Close())
	}
	return err
}

// report fills a heartbeat's answer with the pool's stats; the server is
// ready while its pool (of goroutines or of processes) is open. A server
// without a pool (plain and throttle modes) is always ready.
func report(a *app.App) func(*ipc.Report) {
	return func(r *ipc.Report) {
		if s, ok := a.Stats(); ok {
			r.Ready, r.Pool = s.State == "open", ipc.PoolOf(s)
		}
	}
}
