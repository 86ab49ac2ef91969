package manager_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/stretchr/testify/require"
)

// options returns Options that run the test binary as n children in mode,
// on a free loopback port, with fast restarts and events recorded in rec.
func options(t *testing.T, n int, mode string, rec *recorder) manager.Options {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return manager.Options{
		Command:   []string{exe},
		Instances: n,
		Addr:      "127.0.0.1:0",
		// Race-enabled binaries otherwise sleep 1s when they exit.
		Env:          []string{childEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"},
		ReadyTimeout: 10 * time.Second,
		StopTimeout:  10 * time.Second,
		Restart:      manager.Policy{InitialBackoff: time.Millisecond, MaxBackoff: 8 * time.Millisecond, MaxRestarts: 3, Period: time.Minute},
		// Heartbeats every 100ms; a child is replaced after 3s without an
		// answer, a bound that a loaded machine does not reach by accident.
		Health:  manager.Health{Interval: 100 * time.Millisecond, Missed: 30, KillGrace: 10 * time.Second},
		Stdout:  io.Discard,
		Stderr:  io.Discard,
		OnEvent: rec.add,
	}
}

// start starts a manager and stops it when the test ends.
func start(t *testing.T, opts manager.Options) *manager.Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := manager.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
	return m
}

// recorder keeps the events it is given. The zero value is ready to use.
type recorder struct {
	mu      sync.Mutex
	events  []manager.Event
	changed chan struct{} // closed and replaced by every event
}

func (r *recorder) add(e manager.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
}

// await waits until ok holds for the events so far, or fails the test
// when ctx ends.
func (r *recorder) await(t *testing.T, ctx context.Context, ok func([]manager.Event) bool) {
	t.Helper()
	for {
		r.mu.Lock()
		if ok(r.events) {
			r.mu.Unlock()
			return
		}
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			r.mu.Lock()
			defer r.mu.Unlock()
			require.FailNow(t, "the awaited event did not happen", "events: %+v", r.events)
		}
	}
}

// has reports whether events holds one of kind for instance id with a pid
// other than notPID.
func has(events []manager.Event, kind manager.EventKind, id, notPID int) bool {
	for _, e := range events {
		if e.Kind == kind && e.Instance == id && e.PID != notPID {
			return true
		}
	}
	return false
}

// delays returns the backoff delays of the restarts so far.
func (r *recorder) delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var d []time.Duration
	for _, e := range r.events {
		if e.Kind == manager.EventRestarting {
			d = append(d, e.Delay)
		}
	}
	return d
}

// pids returns the pids of m's running children.
func pids(m *manager.Manager) []int {
	var p []int
	for _, s := range m.Status() {
		if s.PID != 0 {
			p = append(p, s.PID)
		}
	}
	return p
}

// client is an HTTP client that keeps n connections alive, as load
// balancers and most clients do.
func client(n int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// getPID asks the cluster at addr for the pid of the child that answers.
func getPID(ctx context.Context, c *http.Client, addr string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(bytes.TrimSpace(b)))
}
