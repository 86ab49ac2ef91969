package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crewkit/crew/examples/server/app"
)

// serveChild is the child process: the example server on a loopback port
// and its admin listener on another, which it prints on stdout, until
// SIGTERM. args are the mode, workers, queue size, waiting budget and
// GOMAXPROCS. Workers default to the runtime's default GOMAXPROCS even when
// GOMAXPROCS is raised, so that the processors above it are left for the
// network.
func serveChild(args []string) error {
	workers, err1 := strconv.Atoi(args[1])
	queue, err2 := strconv.Atoi(args[2])
	maxWait, err3 := time.ParseDuration(args[3])
	procs, err4 := strconv.Atoi(args[4])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	if procs > 0 {
		def := runtime.GOMAXPROCS(procs) // the default, returned as it is replaced
		workers = cmp.Or(workers, def)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// Build the app before printing an address, so that startServer sees a
	// bad configuration as a failure to start.
	a, err := app.New(app.Config{Mode: app.Mode(args[0]), Workers: workers, QueueSize: queue, MaxWait: maxWait, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	fmt.Printf("ADDR %s %s\n", ln.Addr(), admin.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return a.Serve(ctx, ln, admin)
}

// server is a running child process.
type server struct {
	mode  app.Mode
	cmd   *exec.Cmd
	addr  string
	admin string // the admin listener's address, for /debug/pool
}

// startServers starts a server for each mode. On error it stops the ones
// it started; otherwise the caller must call stopServers.
func startServers(cfg config, modes []app.Mode) ([]*server, error) {
	var ss []*server
	for _, m := range modes {
		s, err := startServer(cfg, m)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", m, err), stopServers(ss))
		}
		ss = append(ss, s)
	}
	return ss, nil
}

// stopServers stops every server in ss and waits for them.
func stopServers(ss []*server) error {
	var errs []error
	for _, s := range ss {
		if err := s.stop(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.mode, err))
		}
	}
	return errors.Join(errs...)
}

// startServer starts a child serving mode and waits for its address.
func startServer(cfg config, mode app.Mode) (*server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", string(mode), strconv.Itoa(cfg.workers), strconv.Itoa(cfg.queue), cfg.maxWait.String(), strconv.Itoa(cfg.procs))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		pub, admin, _ := strings.Cut(a, " ")
		if pub == "" {
			return nil, errors.Join(errors.New("server exited before listening"), cmd.Wait())
		}
		s := &server{mode: mode, cmd: cmd, addr: pub, admin: admin}
		serverStarted(s)
		return s, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("server did not start within 30s")
	}
}

// serverStarted is called with each server started; tests replace it to
// learn the children's process IDs.
var serverStarted = func(*server) {}

// stop asks the child to shut down gracefully and waits for it, killing it
// after 30 seconds.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		return errors.New("server did not stop within 30s; killed")
	}
}
