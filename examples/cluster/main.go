// Command cluster runs a server as N processes sharing one port, like Node's
// cluster module under pm2: it restarts crashed children with capped
// exponential backoff, replaces them all on SIGHUP without failing a request,
// stops them gracefully on SIGTERM or Ctrl-C, replaces the ones that stop
// answering its heartbeats, and shows their pid, uptime, restarts, pool
// and memory on SIGUSR1 or over HTTP with -status.
//
// Usage, from the examples directory:
//
//	go build -o /tmp/crew-server ./server
//	go build -o /tmp/crew-cluster ./cluster
//	/tmp/crew-cluster -n 2 -addr 127.0.0.1:8080 -status 127.0.0.1:9090 -- /tmp/crew-server
//
// Build it rather than go run it: go run starts the binary as its own child,
// so the PID a shell reports for go run is not the manager's, and a signal
// sent to it ends go run without reaching the manager. The manager's ready
// line gives its PID and the commands that signal it.
//
// The command after "--" runs in every child with CREW_ADDR set to the
// shared address and CREW_REUSEPORT=1; it must print a line starting with
// "ready" once it accepts connections (examples/server does, and runs its
// pool mode by default). Then:
//
//	kill -HUP <cluster pid>     rolling reload, one child at a time
//	kill -USR1 <cluster pid>    status table on stderr
//	curl 127.0.0.1:9090         the same table (?format=json for JSON)
//	curl -d level=debug 127.0.0.1:9090/log-level   new log level in every child
//	kill <cluster pid>          graceful stop (or Ctrl-C)
//
// The manager logs JSON to stderr, as examples/server does, so the
// children's records and the manager's read alike. When a child crashes,
// the warning quotes the last lines of its stderr, leaving out its access
// logs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	opts   manager.Options
	status string
}

func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cluster [flags] -- command [args...]")
		fs.PrintDefaults()
	}
	var c config
	o := &c.opts
	fs.IntVar(&o.Instances, "n", runtime.NumCPU(), "number of processes")
	fs.StringVar(&o.Addr, "addr", manager.DefaultAddr, "address the processes share (port 0 picks one)")
	fs.StringVar(&c.status, "status", "", "serve the status table over HTTP on this address (off when empty)")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", manager.DefaultReadyTimeout, "time a process may take to be ready")
	fs.DurationVar(&o.StopTimeout, "stop-timeout", manager.DefaultStopTimeout, "time a process may take to stop after SIGTERM before SIGKILL")
	fs.DurationVar(&o.Restart.InitialBackoff, "backoff", manager.DefaultInitialBackoff, "delay before the first restart of a crashed process")
	fs.DurationVar(&o.Restart.MaxBackoff, "max-backoff", manager.DefaultMaxBackoff, "cap of the restart delay, which doubles per restart")
	fs.IntVar(&o.Restart.MaxRestarts, "max-restarts", manager.DefaultMaxRestarts, "restarts of one process within -restart-window before giving up on it (-1: never)")
	fs.DurationVar(&o.Restart.Period, "restart-window", manager.DefaultPeriod, "window over which restarts are counted")
	fs.DurationVar(&o.Health.Interval, "heartbeat", manager.DefaultHeartbeatInterval, "time between heartbeats to the processes that joined the channel (negative: none)")
	fs.IntVar(&o.Health.Missed, "missed-heartbeats", manager.DefaultMissedHeartbeats, "heartbeats in a row a process may miss before it is replaced")
	fs.DurationVar(&o.Health.NotReadyGrace, "not-ready-grace", manager.DefaultNotReadyGrace, "time a process may report itself not ready before it is replaced")
	fs.DurationVar(&o.Health.KillGrace, "kill-grace", manager.DefaultKillGrace, "time an unhealthy process has to exit after SIGTERM before SIGKILL")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	o.Command = fs.Args()
	if len(o.Command) == 0 {
		fs.Usage()
		return c, errors.New("no command to run; put it after --")
	}
	if o.Instances < 1 {
		return c, fmt.Errorf("-n must be at least 1, got %d", o.Instances)
	}
	return c, nil
}

func run(args []string, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	c.opts.Logger = slog.New(slog.NewJSONHandler(stderr, nil))
	stopSig := make(chan os.Signal, 2)
	signal.Notify(stopSig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stopSig)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stopSig: // Ctrl-C while children start
			cancel()
		case <-ctx.Done():
		}
	}()
	m, err := manager.Start(ctx, c.opts)
	cancel()
	if err != nil {
		return err
	}
	pid := os.Getpid()
	c.opts.Logger.Info("cluster ready", "addr", m.Addr(), "instances", c.opts.Instances, "pid", pid,
		"reload", fmt.Sprintf("kill -HUP %d", pid), "status", fmt.Sprintf("kill -USR1 %d", pid),
		"stop", fmt.Sprintf("kill %d", pid))
	if c.status != "" {
		stop, err := serveStatus(c.status, m, c.opts.Logger)
		if err != nil {
			return errors.Join(err, m.Stop(context.Background()))
		}
		defer stop()
	}
	return supervise(m, stopSig, stderr, c.opts.Logger)
}

// supervise answers signals until the cluster is stopped or gives up.
func supervise(m *manager.Manager, stopSig <-chan os.Signal, stderr io.Writer, log *slog.Logger) error {
	other := make(chan os.Signal, 4)
	signal.Notify(other, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(other)
	reloaded := make(chan error, 1)
	reloading := false
	for {
		select {
		case sig := <-stopSig:
			log.Info("stopping", "signal", sig.String())
			return stop(m, stopSig)
		case <-m.Done():
			return m.Err()
		case err := <-reloaded:
			reloading = false
			if err != nil {
				log.Error("reload failed", "err", err)
			} else {
				log.Info("reload complete")
			}
		case sig := <-other:
			switch {
			case sig == syscall.SIGUSR1:
				_ = manager.WriteStatus(stderr, m.Status())
			case reloading:
				log.Warn("reload already in progress; SIGHUP ignored")
			default:
				reloading = true
				log.Info("reloading")
				go func() { reloaded <- m.Reload(context.Background()) }()
			}
		}
	}
}

// stop stops the cluster gracefully; a second stop signal kills the
// children at once.
func stop(m *manager.Manager, stopSig <-chan os.Signal) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stopSig:
			cancel()
		case <-m.Done():
		}
	}()
	return m.Stop(ctx)
}

// serveStatus serves m's status table on addr until the returned function
// is called.
func serveStatus(addr string, m *manager.Manager, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-status: %w", err)
	}
	srv := &http.Server{Handler: m.StatusHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("status view", "url", "http://"+ln.Addr().String()+"/")
	return func() { _ = srv.Close() }, nil
}
