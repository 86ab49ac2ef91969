package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/crewkit/crew/examples/internal/reuseport"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// childEnv makes the test binary a tiny server when the cluster under test
// starts it as a child.
const childEnv = "CLUSTER_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := serveChild(); err != nil {
			fmt.Fprintln(os.Stderr, "test child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// serveChild listens on the shared address, prints its ready line and
// serves until SIGTERM.
func serveChild() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln, err := reuseport.Listen(ctx, os.Getenv("CREW_ADDR"))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("ready", ln.Addr())
	<-ctx.Done()
	return srv.Close()
}

func TestParse(t *testing.T) {
	t.Run("the command after the flags runs in every child", func(t *testing.T) {
		c, err := parse([]string{"-n", "3", "-addr", "127.0.0.1:9000", "--", "./server", "-mode", "plain"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, []string{"./server", "-mode", "plain"}, c.opts.Command)
		require.Equal(t, 3, c.opts.Instances)
		require.Equal(t, "127.0.0.1:9000", c.opts.Addr)
	})
	t.Run("the health flags fill the manager's Health", func(t *testing.T) {
		c, err := parse([]string{"-heartbeat", "250ms", "-missed-heartbeats", "4", "-not-ready-grace", "2s", "-kill-grace", "1s", "--", "./server"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, manager.Health{Interval: 250 * time.Millisecond, Missed: 4, NotReadyGrace: 2 * time.Second, KillGrace: time.Second}, c.opts.Health)
		c, err = parse([]string{"--", "./server"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, manager.Health{Interval: manager.DefaultHeartbeatInterval, Missed: manager.DefaultMissedHeartbeats,
			NotReadyGrace: manager.DefaultNotReadyGrace, KillGrace: manager.DefaultKillGrace}, c.opts.Health)
	})
	t.Run("a missing command is explained with the usage", func(t *testing.T) {
		var usage strings.Builder
		_, err := parse([]string{"-n", "2"}, &usage)
		require.EqualError(t, err, "no command to run; put it after --")
		require.Contains(t, usage.String(), "usage: cluster [flags] -- command [args...]")
	})
	t.Run("fewer than one process is refused", func(t *testing.T) {
		_, err := parse([]string{"-n", "0", "--", "./server"}, io.Discard)
		require.EqualError(t, err, "-n must be at least 1, got 0")
	})
	t.Run("the README's cluster command runs the server in its default pool mode", func(t *testing.T) {
		readme, err := os.ReadFile("../../README.md")
		require.NoError(t, err)
		var found int
		for line := range strings.Lines(string(readme)) {
			bin, args, ok := strings.Cut(strings.TrimSpace(line), " ")
			if !ok || !strings.HasSuffix(bin, "crew-cluster") {
				continue
			}
			found++
			c, err := parse(strings.Fields(args), io.Discard)
			require.NoError(t, err, line)
			require.Equal(t, "/tmp/crew-server", c.opts.Command[0])
			for i, a := range c.opts.Command {
				if strings.TrimLeft(a, "-") == "mode" {
					require.Equal(t, "pool", c.opts.Command[i+1], line)
				}
				require.False(t, strings.HasPrefix(strings.TrimLeft(a, "-"), "mode=") && a != "-mode=pool", line)
			}
		}
		require.Equal(t, 1, found, "the README runs the built cluster binary, not go run")
	})
}

func TestRun(t *testing.T) {
	t.Run("the manager logs JSON and its ready line says how to signal it", func(t *testing.T) {
		exe, err := os.Executable()
		require.NoError(t, err)
		t.Setenv(childEnv, "1")
		t.Setenv("GORACE", "atexit_sleep_ms=0")
		r, w := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- run([]string{"-n", "1", "-addr", "127.0.0.1:0", "-status", "127.0.0.1:0", "--", exe}, w)
			_ = w.Close()
		}()
		pid := os.Getpid()
		sc := bufio.NewScanner(r)
		var msgs []string
		for sc.Scan() {
			var rec map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "a JSON record: %s", sc.Text())
			msg, _ := rec["msg"].(string)
			msgs = append(msgs, msg)
			if msg != "cluster ready" {
				continue
			}
			require.EqualValues(t, pid, rec["pid"])
			require.Equal(t, fmt.Sprintf("kill -HUP %d", pid), rec["reload"])
			require.Equal(t, fmt.Sprintf("kill -USR1 %d", pid), rec["status"])
			require.Equal(t, fmt.Sprintf("kill %d", pid), rec["stop"])
			require.NoError(t, syscall.Kill(pid, syscall.SIGTERM), "as the ready line says")
		}
		require.NoError(t, sc.Err())
		require.NoError(t, <-done)
		require.Contains(t, msgs, "cluster ready")
		require.Contains(t, msgs, "stopping")
	})
}
