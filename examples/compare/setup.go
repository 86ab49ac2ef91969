package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/crewkit/crew/examples/server/app"
)

// setup is one way to run the example server.
type setup struct {
	name    string // short name: plain, pool, proc, cluster, cluster-over
	label   string // what the tables and the chart call it
	mode    app.Mode
	n       int  // server processes
	crashes bool // whether the crash experiments run on it
}

// setups returns the setups compared: the cluster with n processes, and
// again with over processes (more than the CPUs, to show what that costs),
// the pools with the given workers, goroutines or child processes.
func setups(n, over, workers int) []setup {
	return []setup{
		{"plain", "plain server (1 process)", app.ModePlain, 1, true},
		{"pool", fmt.Sprintf("crew pool (1 process, %d goroutine workers)", workers), app.ModePool, 1, true},
		{"proc", fmt.Sprintf("crew pool (1 server process, %d process workers)", workers), app.ModeProc, 1, true},
		{"cluster", fmt.Sprintf("cluster (%d processes, no pool)", n), app.ModePlain, n, true},
		// The same processes as the cluster, so the crash experiments
		// would repeat the cluster's: they are left out.
		{"cluster-over", fmt.Sprintf("cluster (%d processes on %d CPUs, no pool)", over, runtime.NumCPU()), app.ModePlain, over, false},
	}
}

// setupNames are the names setups gives, in its order.
var setupNames = []string{"plain", "pool", "proc", "cluster", "cluster-over"}

// buildServer compiles the example server into dir and returns its path.
// It runs the go command, so it must run inside the examples module.
func buildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/crewkit/crew/examples/server")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build of the example server (run this command from the examples directory): %w", err)
	}
	return bin, nil
}

// restartDelay is the backoff before a crashed process is restarted.
const restartDelay = 100 * time.Millisecond

// running is a started setup: its processes under a cluster manager, which
// restarts a crashed process for every setup alike.
type running struct {
	setup
	m      *manager.Manager
	events *eventLog
}

// start runs s's processes of the server binary bin on a free loopback
// port, each with the given workers (pool mode only).
func start(ctx context.Context, s setup, bin string, workers int) (*running, error) {
	log := &eventLog{}
	m, err := manager.Start(ctx, manager.Options{
		Command: []string{bin, "-mode", string(s.mode), "-workers", strconv.Itoa(workers),
			"-enable-crash", "-log-level", "error"},
		Instances:   s.n,
		Addr:        "127.0.0.1:0",
		StopTimeout: 10 * time.Second,
		Stdout:      io.Discard,
		Stderr:      io.Discard, // the crashes are deliberate
		OnEvent:     log.add,
		// The same delay before every restart, so that restart times
		// compare across crashes and setups.
		Restart: manager.Policy{InitialBackoff: restartDelay, MaxBackoff: restartDelay},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return &running{setup: s, m: m, events: log}, nil
}

// rss returns the total resident memory of the setup's processes and of
// their children (the process workers of proc).
func (r *running) rss() int64 {
	var total int64
	for _, st := range r.m.Status() {
		total += st.RSS
		for _, c := range children(st.PID) {
			total += manager.RSS(c)
		}
	}
	return total
}

// workerPIDs returns the child processes of every server process of the
// setup: the process workers of proc, none for the others.
func (r *running) workerPIDs() []int {
	var pids []int
	for _, st := range r.m.Status() {
		pids = append(pids, children(st.PID)...)
	}
	return pids
}

// children returns the PIDs of pid's child processes, from
// /proc/PID/task/*/children; none where /proc is missing.
func children(pid int) []int {
	if pid == 0 {
		return nil
	}
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, s := range strings.Fields(string(data)) {
			if c, err := strconv.Atoi(s); err == nil {
				pids = append(pids, c)
			}
		}
	}
	return pids
}

// allRunning waits until every process is up, as after a crash.
func (r *running) allRunning(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		up := 0
		for _, st := range r.m.Status() {
			if st.State == manager.StateRunning {
				up++
			}
		}
		if up == r.n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d processes up: %w", r.name, up, r.n, ctx.Err())
		case <-tick.C:
		}
	}
}

// peakRSS samples the setup's total resident memory every 100ms until
// stop is called, which returns the highest sample.
func (r *running) peakRSS() (stop func() int64) {
	done := make(chan struct{})
	var peak int64
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, r.rss())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() int64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// eventLog keeps the manager's events with their times.
type eventLog struct {
	mu     sync.Mutex
	events []timedEvent
}

type timedEvent struct {
	at time.Time
	manager.Event
}

func (l *eventLog) add(e manager.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, timedEvent{time.Now(), e})
}

// exited waits until a process exit after t is logged, or ctx ends.
func (l *eventLog) exited(ctx context.Context, t time.Time) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, ok := l.restart(t); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no process exit seen: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// restart returns the time from the first exit after t to the next ready
// process of the same instance, and whether a process exited.
func (l *eventLog) restart(t time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.events {
		if e.Kind != manager.EventExited || e.at.Before(t) {
			continue
		}
		for _, r := range l.events[i:] {
			if r.Kind == manager.EventReady && r.Instance == e.Instance {
				return r.at.Sub(e.at), true
			}
		}
		return 0, true
	}
	return 0, false
}
