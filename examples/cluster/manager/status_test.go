package manager_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/stretchr/testify/require"
)

func TestStatus(t *testing.T) {
	t.Run("the table shows every child's pool and memory, and the totals", func(t *testing.T) {
		var b strings.Builder
		require.NoError(t, manager.WriteStatus(&b, []manager.ChildStatus{
			{Instance: 0, State: manager.StateRunning, PID: 41, Uptime: manager.Duration(90 * time.Second), Restarts: 2, RSS: 10 << 20, LastExit: "signal: killed",
				Report: &ipc.Report{Ready: true, Heap: 3 << 20, Pool: &ipc.PoolStats{Workers: 4, Busy: 3, Queued: 7, Completed: 100, Rejected: 2}}},
			{Instance: 1, State: manager.StateRunning, PID: 42, Uptime: manager.Duration(time.Second), RSS: 20 << 20,
				Report: &ipc.Report{Heap: 1 << 20, Pool: &ipc.PoolStats{Workers: 4, Busy: 4, Queued: 1, Completed: 50, Rejected: 1}}},
			{Instance: 2, State: manager.StateFailed, Restarts: 5, Error: "instance 2 restarted 5 times within 1m0s"},
		}))
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		require.Len(t, lines, 5)
		require.Regexp(t, `instance\s+state\s+pid\s+uptime\s+restarts\s+ready\s+workers\s+busy\s+queued\s+done\s+rejected\s+memory\s+heap\s+last exit`, lines[0])
		require.Regexp(t, `0\s+running\s+41\s+1m30s\s+2\s+yes\s+4\s+3\s+7\s+100\s+2\s+10.0 MiB\s+3.0 MiB\s+signal: killed`, lines[1])
		require.Regexp(t, `1\s+running\s+42\s+1s\s+0\s+no\s+4\s+4\s+1\s+50\s+1\s+20.0 MiB\s+1.0 MiB\s+-`, lines[2])
		require.Regexp(t, `2\s+failed\s+-\s+-\s+5\s+-\s+-\s+-\s+-\s+-\s+-\s+0.0 MiB\s+-\s+instance 2 restarted 5 times`, lines[3])
		require.Regexp(t, `total\s+8\s+7\s+8\s+150\s+3\s+30.0 MiB\s+4.0 MiB`, lines[4])
	})
	t.Run("RSS reads this process's resident memory, or zero without /proc", func(t *testing.T) {
		if _, err := os.Stat("/proc/self/status"); err != nil {
			require.Zero(t, manager.RSS(os.Getpid()), "no /proc: the documented zero")
		} else {
			require.Greater(t, manager.RSS(os.Getpid()), int64(1<<20))
		}
		require.Zero(t, manager.RSS(-1))
	})
	t.Run("the status handler answers 404 for any path but the root", func(t *testing.T) {
		m := start(t, options(t, 1, "serve", &recorder{}))
		srv := httptest.NewServer(m.StatusHandler())
		defer srv.Close()
		for path, want := range map[string]int{
			"/": http.StatusOK, "/?format=json": http.StatusOK,
			"/favicon.ico": http.StatusNotFound, "/debug/pool": http.StatusNotFound,
		} {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path, nil)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, want, resp.StatusCode, path)
		}
	})
	t.Run("the status handler serves JSON with the pids and memory", func(t *testing.T) {
		m := start(t, options(t, 2, "serve", &recorder{}))
		srv := httptest.NewServer(m.StatusHandler())
		defer srv.Close()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"?format=json", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var st []map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		require.Len(t, st, 2)
		for i, s := range st {
			require.EqualValues(t, i, s["instance"])
			require.Equal(t, "running", s["state"])
			require.NotZero(t, s["pid"])
			require.IsType(t, 0.0, s["uptime_s"], "seconds, as the field says")
			require.Greater(t, s["uptime_s"].(float64), 0.0)
		}
	})
}
