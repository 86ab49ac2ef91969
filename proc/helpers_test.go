package proc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

// waitLimit bounds every wait in the tests, so that a broken test fails
// instead of hanging; nothing waits for it to pass.
const waitLimit = 20 * time.Second

// lines collects forwarded output; each Write from the parent is one line.
type lines struct {
	mu   sync.Mutex
	seen []string
	more chan struct{} // closed and replaced on every line
}

func newLines() *lines { return &lines{more: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, strings.TrimSuffix(string(p), "\n"))
	close(l.more)
	l.more = make(chan struct{})
	return len(p), nil
}

// wait returns the first line, seen or to come, that contains substr.
func (l *lines) wait(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, s := range l.seen {
			if strings.Contains(s, substr) {
				l.mu.Unlock()
				return s
			}
		}
		more := l.more
		l.mu.Unlock()
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("no output line containing %q", substr)
			return ""
		}
	}
}

// pidOf returns the PID at the end of a line such as "worker 1: blocking 123".
func pidOf(t *testing.T, line string) int {
	t.Helper()
	f := strings.Fields(line)
	pid, err := strconv.Atoi(f[len(f)-1])
	require.NoError(t, err, line)
	return pid
}

// newLogs returns a logger whose records, one Write each, are collected
// as lines.
func newLogs() (*lines, *slog.Logger) {
	l := newLines()
	return l, slog.New(slog.NewTextHandler(l, nil))
}

// newPool starts a pool of test children in role and closes it when the
// test ends, checking that no child outlives it.
func newPool(t *testing.T, role string, po proc.Options, opts pool.Options) *pool.Pool[Job, Reply] {
	t.Helper()
	p, err := pool.New(proc.Factory[Job, Reply](proc.Self(role), po), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		require.NoError(t, p.Close(ctx))
		requireNoChildren(t)
	})
	return p
}

// run runs j with a timeout that only a broken test reaches.
func run(t *testing.T, p *pool.Pool[Job, Reply], j Job) (Reply, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	return p.Run(ctx, j)
}

// children returns the PIDs of this process's children, zombies included.
func children(t *testing.T) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	me := os.Getpid()
	var pids []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces, so parse
		// after its closing parenthesis.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(me) {
			pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
			pids = append(pids, pid)
		}
	}
	return pids
}

// requireNoChildren fails unless every child of this process is gone and
// reaped.
func requireNoChildren(t *testing.T) {
	t.Helper()
	require.Empty(t, children(t), "child processes outlived the pool")
}

// requireGone fails unless process pid is gone and reaped: kill(pid, 0)
// finds no such process.
func requireGone(t *testing.T, pid int) {
	t.Helper()
	err := syscall.Kill(pid, 0)
	require.True(t, errors.Is(err, syscall.ESRCH), "process %d still exists (kill: %v)", pid, err)
}

func exitError(t *testing.T, err error) *proc.ExitError {
	t.Helper()
	var e *proc.ExitError
	require.True(t, errors.As(err, &e), "want an *ExitError, got %v", err)
	return e
}

// events collects a pool's lifecycle events.
type events struct{ ch chan pool.Event }

func newEvents() *events { return &events{ch: make(chan pool.Event, 1024)} }

func (e *events) hook(ev pool.Event) { e.ch <- ev }

// wait returns once n events of kind have arrived.
func (e *events) wait(t *testing.T, kind pool.EventKind, n int) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for n > 0 {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				n--
			}
		case <-deadline.C:
			t.Fatalf("%d more %v events expected", n, kind)
		}
	}
}

// next returns the next event of kind, skipping others.
func (e *events) next(t *testing.T, kind pool.EventKind) pool.Event {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no %v event", kind)
			return pool.Event{}
		}
	}
}
