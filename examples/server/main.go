// Command server is crew's example HTTP service: CPU-bound endpoints
// (bcrypt password hashing, image thumbnails, iterated SHA-256) offloaded to
// a worker pool, with /healthz and /readyz, an admin listener for
// operators (/metrics, /debug/pool, /debug/dashboard, /debug/pprof/), JSON
// logs, and graceful shutdown on SIGINT or SIGTERM.
//
// Run it from the examples directory with defaults:
//
//	go run ./server
//
// Every flag has an environment variable; flags win:
//
//	-addr      CREW_ADDR       listen address (localhost:8080)
//	-admin     CREW_ADMIN      admin listen address, "off" for none
//	                           (127.0.0.1:6060; 127.0.0.1:0 with -reuseport)
//	-mode      CREW_MODE       pool, plain, throttle or proc (pool)
//	-workers   CREW_WORKERS    concurrent CPU-bound requests; in proc mode,
//	                           child processes (GOMAXPROCS)
//	-queue     CREW_QUEUE      requests waiting for a worker (256 per worker)
//	-max-wait  CREW_MAX_WAIT   how long a request may wait for a worker
//	                           before it is shed with 503; negative: no
//	                           budget (250ms)
//	-log-level CREW_LOG_LEVEL  debug, info, warn or error (info)
//	-reuseport CREW_REUSEPORT  listen with SO_REUSEPORT, to share the port
//	                           with other processes (false)
//	-enable-crash CREW_ENABLE_CRASH  serve /api/crash for fault experiments
//	                           (false)
//
// With -mode proc the CPU part of each request runs in one of -workers
// child processes: this binary started again in a worker role, which main
// checks before it parses flags. A fatal error in a request's work (try
// /api/crash?kind=exit or kind=fatal with -enable-crash) then ends one
// child and fails one request, and the pool starts a new child.
//
// Request bodies are read under a deadline off the pool, images are checked
// against per-request pixel and memory budgets before they are decoded, and
// shutdown gives the HTTP drain and the pool's drain their own shares of 30s;
// package app and docs/example-server.md list the budgets.
//
// The admin listener serves Prometheus metrics, the pool's stats as JSON,
// the live dashboard and net/http/pprof, which the public listener never
// serves; by default it listens on loopback only. With -reuseport several
// processes share the public port, and each takes a free admin port
// unless -admin says otherwise.
//
// Once it accepts connections it prints one line on stdout, "ready", its
// address and its admin address (for example "ready 127.0.0.1:8080 admin
// 127.0.0.1:6060"), which process managers such as examples/cluster wait
// for. Under examples/cluster it also joins the manager's channel
// (CREW_IPC): it answers heartbeats with its readiness and pool stats, and
// takes the log level the manager sends.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/crewkit/crew/examples/internal/reuseport"
	"github.com/crewkit/crew/examples/server/app"
	"github.com/crewkit/crew/proc"
)

func main() {
	// A process worker of -mode proc is this binary again, in WorkerRole:
	// it serves the pool's jobs and never reaches the flags.
	if proc.Role() == app.WorkerRole {
		if err := app.ServeWorker(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "server worker:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	defWorkers, err := envInt("CREW_WORKERS")
	if err != nil {
		return err
	}
	defQueue, err := envInt("CREW_QUEUE")
	if err != nil {
		return err
	}
	defMaxWait, err := envDuration("CREW_MAX_WAIT")
	if err != nil {
		return err
	}
	addr := fs.String("addr", env("CREW_ADDR", "localhost:8080"), "listen address")
	admin := fs.String("admin", env("CREW_ADMIN", ""),
		`admin listen address for /metrics, /debug/ and pprof; "off" for none (default 127.0.0.1:6060, or 127.0.0.1:0 with -reuseport)`)
	mode := fs.String("mode", env("CREW_MODE", "pool"),
		"pool, plain (no pool), throttle (chi middleware.Throttle) or proc (a pool of process workers)")
	workers := fs.Int("workers", defWorkers, "concurrent CPU-bound requests; 0 means GOMAXPROCS")
	queue := fs.Int("queue", defQueue, "requests waiting for a worker before 503; 0 means 256 per worker")
	maxWait := fs.Duration("max-wait", defMaxWait,
		"how long a CPU-bound request may wait for a worker before it is shed with 503 (pool and proc modes); 0 means 250ms, negative turns the budget off")
	level := fs.String("log-level", env("CREW_LOG_LEVEL", "info"), "debug, info, warn or error")
	reuse := fs.Bool("reuseport", env("CREW_REUSEPORT", "") == "1" || env("CREW_REUSEPORT", "") == "true",
		"listen with SO_REUSEPORT, sharing the port with other processes")
	crash := fs.Bool("enable-crash", env("CREW_ENABLE_CRASH", "") == "1" || env("CREW_ENABLE_CRASH", "") == "true",
		"serve /api/crash, which crashes a worker or the process on purpose")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lvl slog.LevelVar // examples/cluster's manager may change it
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: &lvl}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := listen(ctx, *addr, *reuse)
	if err != nil {
		return err
	}
	adminLn, err := listenAdmin(ctx, adminAddr(*admin, *reuse))
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	context.AfterFunc(ctx, stop) // a second signal ends the process at once
	return serve(ctx, app.Config{
		Mode: app.Mode(*mode), Workers: *workers, QueueSize: *queue, MaxWait: *maxWait, Logger: logger, CrashEndpoint: *crash,
		Ready: func(a net.Addr) { fmt.Println(readyLine(a, adminLn)) },
	}, &lvl, ln, adminLn)
}

// Default admin addresses: loopback only, on a fixed port for one process,
// on a free port when several share the public port with -reuseport.
const (
	defaultAdmin      = "127.0.0.1:6060"
	defaultAdminShare = "127.0.0.1:0"
)

// adminAddr returns the admin address to listen on: flag (the -admin flag
// or CREW_ADMIN) when set, otherwise the default for reuse.
func adminAddr(flag string, reuse bool) string {
	switch {
	case flag != "":
		return flag
	case reuse:
		return defaultAdminShare
	}
	return defaultAdmin
}

// listenAdmin announces on addr, or returns a nil listener for "off".
func listenAdmin(ctx context.Context, addr string) (net.Listener, error) {
	if addr == "off" {
		return nil, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	return ln, nil
}

// readyLine is the line printed once the server accepts connections.
func readyLine(addr net.Addr, admin net.Listener) string {
	if admin == nil {
		return fmt.Sprintf("ready %s admin off", addr)
	}
	return fmt.Sprintf("ready %s admin %s", addr, admin.Addr())
}

// listen announces on addr, with SO_REUSEPORT when reuse is set.
func listen(ctx context.Context, addr string, reuse bool) (net.Listener, error) {
	if reuse {
		return reuseport.Listen(ctx, addr)
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// envInt reads an integer variable, zero when it is unset.
func envInt(key string) (int, error) { return envParse(key, "an integer", strconv.Atoi) }

// envDuration reads a duration variable, zero when it is unset.
func envDuration(key string) (time.Duration, error) {
	return envParse(key, "a duration such as 300ms", time.ParseDuration)
}

// envParse reads the variable key with parse; want says what a valid
// value is, for the error.
func envParse[T any](key, want string, parse func(string) (T, error)) (T, error) {
	var zero T
	v := env(key, "")
	if v == "" {
		return zero, nil
	}
	x, err := parse(v)
	if err != nil {
		return zero, fmt.Errorf("%s must be %s, got %q", key, want, v)
	}
	return x, nil
}
