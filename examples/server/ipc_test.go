package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/stretchr/testify/require"
)

// serverChild makes the test binary run the server, as its main would,
// when the manager under test starts it.
const serverChild = "SERVER_TEST_CHILD"

func init() {
	if os.Getenv(serverChild) == "" {
		return
	}
	if err := run(nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestCluster(t *testing.T) {
	t.Run("under the manager the server reports its pool and takes a new log level", func(t *testing.T) {
		exe, err := os.Executable()
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		m, err := manager.Start(ctx, manager.Options{
			Command: []string{exe}, Instances: 2, Addr: "127.0.0.1:0",
			Env: []string{serverChild + "=1", "CREW_ADMIN=off", "CREW_WORKERS=3", "CREW_LOG_LEVEL=warn",
				"GORACE=atexit_sleep_ms=0"},
			ReadyTimeout: 20 * time.Second, Health: manager.Health{Interval: 50 * time.Millisecond, Missed: 100},
			Stdout: io.Discard, Stderr: io.Discard, OnEvent: func(manager.Event) {},
		})
		require.NoError(t, err)
		pids := []int{m.Status()[0].PID, m.Status()[1].PID}
		defer func() {
			require.NoError(t, m.Stop(context.Background()))
			for _, pid := range pids {
				require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "child %d outlived the manager", pid)
			}
		}()
		for id := range 2 {
			hb := beat(t, ctx, m, id, func(hb ipc.Heartbeat) bool { return true })
			require.True(t, hb.Report.Ready)
			require.Equal(t, "WARN", hb.Report.LogLevel)
			require.Equal(t, "open", hb.Report.Pool.State)
			require.Equal(t, 3, hb.Report.Pool.Workers)
			require.Equal(t, 3, hb.Report.Pool.Max)
		}

		srv := httptest.NewServer(m.StatusHandler())
		defer srv.Close()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/log-level?level=debug", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for id := range 2 {
			beat(t, ctx, m, id, func(hb ipc.Heartbeat) bool { return hb.Report.LogLevel == "DEBUG" })
		}
	})
}

// beat waits until instance id's child answers a heartbeat that ok
// accepts, or fails the test when ctx ends.
func beat(t *testing.T, ctx context.Context, m *manager.Manager, id int, ok func(ipc.Heartbeat) bool) ipc.Heartbeat {
	t.Helper()
	for {
		hb, next, running := m.LastHeartbeat(id)
		require.True(t, running)
		if hb.Seq > 0 && ok(hb) {
			return hb
		}
		select {
		case <-next:
		case <-ctx.Done():
			require.FailNow(t, "the awaited heartbeat did not come", "instance %d, last: %+v", id, hb)
		}
	}
}
