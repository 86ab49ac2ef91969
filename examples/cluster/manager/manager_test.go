package manager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/stretchr/testify/require"
)

func TestStart(t *testing.T) {
	t.Run("children share one port and each answers", func(t *testing.T) {
		m := start(t, options(t, 2, "serve", &recorder{}))
		st := m.Status()
		require.Len(t, st, 2)
		running := pids(m)
		require.Len(t, running, 2)
		require.NotEqual(t, running[0], running[1])
		for _, s := range st {
			require.Equal(t, manager.StateRunning, s.State)
		}
		pid, err := getPID(context.Background(), client(1), m.Addr())
		require.NoError(t, err)
		require.Contains(t, running, pid)
	})
	t.Run("a child that exits at once is reported with its stderr", func(t *testing.T) {
		_, err := manager.Start(context.Background(), options(t, 2, "fail", &recorder{}))
		require.ErrorContains(t, err, "instance 0")
		require.ErrorContains(t, err, "exited before it was ready: exit status 1")
		require.ErrorContains(t, err, "flag provided but not defined: -bogus")
	})
	t.Run("an address in use is reported before any child starts", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		opts := options(t, 2, "serve", &recorder{})
		opts.Addr = ln.Addr().String()
		_, err = manager.Start(context.Background(), opts)
		require.ErrorContains(t, err, ln.Addr().String()+" is in use by another process")
	})
	t.Run("invalid options fail with a message naming the package", func(t *testing.T) {
		_, err := manager.Start(context.Background(), manager.Options{})
		require.EqualError(t, err, "manager: Command must name a program")
		_, err = manager.Start(context.Background(), manager.Options{Command: []string{"x"}, Instances: -1})
		require.EqualError(t, err, "manager: Instances must be >= 0, got -1")
		_, err = manager.Start(context.Background(), manager.Options{Command: []string{"x"}, StopTimeout: -time.Second})
		require.EqualError(t, err, "manager: StopTimeout must be >= 0, got -1s", "a duration has its unit")
	})
}

func TestRestart(t *testing.T) {
	t.Run("a killed child is restarted and the others keep running", func(t *testing.T) {
		rec := &recorder{}
		m := start(t, options(t, 2, "serve", rec))
		before := m.Status()
		require.NoError(t, syscall.Kill(before[0].PID, syscall.SIGKILL))

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec.await(t, ctx, func(ev []manager.Event) bool { return has(ev, manager.EventReady, 0, before[0].PID) })
		after := m.Status()
		require.Equal(t, manager.StateRunning, after[0].State)
		require.NotEqual(t, before[0].PID, after[0].PID)
		require.Equal(t, 1, after[0].Restarts)
		require.Contains(t, after[0].LastExit, "signal: killed")
		require.Equal(t, before[1].PID, after[1].PID, "the other child was not touched")
		require.Equal(t, 0, after[1].Restarts)
		require.Equal(t, []time.Duration{time.Millisecond}, rec.delays())
		_, err := getPID(ctx, client(1), m.Addr())
		require.NoError(t, err)
	})
	t.Run("a child that keeps crashing is given up with a report", func(t *testing.T) {
		rec := &recorder{}
		m, err := manager.Start(context.Background(), options(t, 1, "flaky", rec))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-m.Done():
		case <-ctx.Done():
			require.FailNow(t, "the manager did not give up")
		}
		require.ErrorIs(t, m.Err(), manager.ErrGaveUp)
		require.ErrorContains(t, m.Err(), "instance 0 restarted 3 times within 1m0s, last exit: exit status 2")
		require.Equal(t, []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}, rec.delays(),
			"the backoff doubles from InitialBackoff")
		st := m.Status()
		require.Equal(t, manager.StateFailed, st[0].State)
		require.Equal(t, 3, st[0].Restarts)
		require.NoError(t, m.Stop(context.Background()))
	})
}

func TestReload(t *testing.T) {
	t.Run("a reload replaces every child and fails no request", func(t *testing.T) {
		rec := &recorder{}
		m := start(t, options(t, 2, "serve", rec))
		old := pids(m)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		const clients, maxPerClient = 4, 20_000
		c := client(clients)
		var served, failed atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for i := 0; i < maxPerClient && ctx.Err() == nil; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := getPID(ctx, c, m.Addr()); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
						continue
					}
					served.Add(1)
				}
			})
		}
		require.NoError(t, m.Reload(ctx))
		close(stop)
		wg.Wait()

		require.Zero(t, failed.Load(), "first error: %v", firstErr.Load())
		require.Positive(t, served.Load())
		now := pids(m)
		require.Len(t, now, 2)
		require.NotContains(t, now, old[0])
		require.NotContains(t, now, old[1])
		pid, err := getPID(ctx, c, m.Addr())
		require.NoError(t, err)
		require.Contains(t, now, pid, "the new children answer")
	})
}

func TestStop(t *testing.T) {
	t.Run("stop lets an in-flight request finish", func(t *testing.T) {
		rec := &recorder{}
		m, err := manager.Start(context.Background(), options(t, 1, "serve", rec))
		require.NoError(t, err)
		pid := pids(m)[0]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.Addr()+"/slow", nil)
		require.NoError(t, err)
		resp, err := client(1).Do(req) // returns with the headers: the request is in flight
		require.NoError(t, err)
		defer resp.Body.Close()

		stopped := make(chan error, 1)
		go func() { stopped <- m.Stop(ctx) }()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, strconv.Itoa(pid), string(body))
		require.NoError(t, <-stopped)
		require.Equal(t, manager.StateStopped, m.Status()[0].State)
		require.NoError(t, m.Err())
		_, err = net.Dial("tcp", m.Addr())
		require.Error(t, err, "nothing listens any more")
	})
	t.Run("a child that ignores SIGTERM is killed after StopTimeout", func(t *testing.T) {
		opts := options(t, 1, "stubborn", &recorder{})
		opts.StopTimeout = 50 * time.Millisecond
		m, err := manager.Start(context.Background(), opts)
		require.NoError(t, err)
		err = m.Stop(context.Background())
		require.ErrorContains(t, err, "did not stop within 50ms; killed")
	})
}

func TestCrashReport(t *testing.T) {
	t.Run("a crash is reported with the child's last stderr lines, not its request logs", func(t *testing.T) {
		var logs syncBuffer
		opts := options(t, 1, "noisy", &recorder{})
		opts.OnEvent = nil // the default: events go to Logger
		opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		m, err := manager.Start(context.Background(), opts)
		require.NoError(t, err)
		<-m.Done() // it crashes at every start: the manager gives up
		require.NoError(t, m.Stop(context.Background()))

		var xe *manager.ExitError
		require.ErrorAs(t, m.Err(), &xe)
		require.Equal(t, manager.Tail{
			`{"level":"INFO","msg":"listening","addr":"127.0.0.1:1"}`,
			`{"level":"ERROR","msg":"disk full","path":"/var/tmp"}`,
			"panic: disk full",
		}, xe.Stderr)
		require.ErrorContains(t, m.Err(), `last exit: exit status 2; its stderr ends with: {"level":"INFO","msg":"listening"`)

		var warned bool
		for line := range strings.Lines(logs.String()) {
			var rec struct {
				Msg   string `json:"msg"`
				Level string `json:"level"`
				Exit  string `json:"exit"`
				Tail  []any  `json:"stderr_tail"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec), "every log line is JSON: %s", line)
			if rec.Msg != "child exited" {
				continue
			}
			warned = true
			require.Equal(t, "WARN", rec.Level)
			require.Equal(t, "exit status 2", rec.Exit)
			require.Len(t, rec.Tail, 3)
			require.Equal(t, map[string]any{"level": "ERROR", "msg": "disk full", "path": "/var/tmp"}, rec.Tail[1],
				"a child's JSON record is nested as JSON, not escaped")
			require.Equal(t, "panic: disk full", rec.Tail[2])
		}
		require.True(t, warned, "the crash was logged: %s", logs.String())
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
