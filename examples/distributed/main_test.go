package main

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain runs the member role when the test binary is started as a
// member, the way the example re-runs itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "member" {
		runMember()
		return
	}
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	t.Run("a short run kills a member, loses no promised task and leaves no child", func(t *testing.T) {
		exe, err := os.Executable()
		require.NoError(t, err)
		var out strings.Builder
		pids, err := run([]string{"-duration", "2s", "-kill-at", "700ms", "-callers", "8"}, exe, &out)
		require.NoError(t, err, out.String())
		// Three members per mode, and one restart per mode.
		require.Len(t, pids, 8, out.String())
		for _, pid := range pids {
			require.True(t, errors.Is(syscall.Kill(pid, 0), syscall.ESRCH), "member %d still running", pid)
		}
		s := out.String()
		require.Contains(t, s, "== core mode")
		require.Contains(t, s, "== durable mode")
		require.Contains(t, s, "core: killed member-1")
		require.Contains(t, s, "durable: started member-1 again")
		require.Contains(t, s, "lost       0 retry-on-failure tasks")
		require.Contains(t, s, "lost       0 tasks")
		require.Regexp(t, `redelivered \d+ \(their member died`, s)
		// Each at-most-once call lost with its member crashed its caller
		// worker, which the pool rebuilt and counted.
		lost := regexp.MustCompile(`lost +(\d+) at-most-once`).FindStringSubmatch(s)
		rebuilt := regexp.MustCompile(`rebuilt +(\d+) caller workers`).FindStringSubmatch(s)
		require.NotNil(t, lost, s)
		require.NotNil(t, rebuilt, s)
		require.Equal(t, lost[1], rebuilt[1], s)
	})
}

func TestParse(t *testing.T) {
	t.Run("a kill time outside the run is refused", func(t *testing.T) {
		_, err := parse([]string{"-duration", "1s", "-kill-at", "2s"}, io.Discard)
		require.EqualError(t, err, "-kill-at must be within -duration (1s), got 2s")
	})
	t.Run("fewer than one member is refused", func(t *testing.T) {
		_, err := parse([]string{"-members", "0"}, io.Discard)
		require.EqualError(t, err, "-members must be at least 1, got 0")
	})
	t.Run("the modes are a comma-separated list", func(t *testing.T) {
		c, err := parse([]string{"-modes", "durable"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, []string{"durable"}, c.modes)
	})
}
