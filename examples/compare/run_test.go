//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestRun(t *testing.T) {
	t.Run("a short comparison of all five setups runs end to end and draws its chart, closed loops included", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// Orphans of this test's processes (a process worker whose server
		// died first) become this process's children, so that the check
		// below sees every process the run started, grandchildren included.
		require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		defer func() { require.NoError(t, unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)) }()
		chart := filepath.Join(t.TempDir(), "chart.svg")
		var out strings.Builder
		require.NoError(t, run(ctx, []string{
			"-levels=1", "-duration=300ms", "-warmup=0s", "-capacity-duration=300ms",
			"-crash-duration=600ms", "-clients=8", "-model-clients=8", "-chart=" + chart,
			"-processes=2", "-over-processes=3", "-workers=2",
			"-pair-rounds=1", "-pair-duration=300ms", "-pair-clients=8",
		}, &out))
		require.Empty(t, ownChildren(t), "processes left by the run: servers, or process workers that outlived their server")
		svg, err := os.ReadFile(chart)
		require.NoError(t, err)
		require.Contains(t, string(svg), "<polyline")
		require.Contains(t, string(svg), "8 clients retrying at once")
		report := out.String()
		for _, label := range []string{"plain server (1 process)", "crew pool (1 process, 2 goroutine workers)",
			"crew pool (1 server process, 2 process workers)", "cluster (2 processes, no pool)"} {
			require.Contains(t, report, "| "+label+" | ", "a row of %s", label)
			require.Contains(t, string(svg), label)
		}
		require.Regexp(t, `\| cluster \(3 processes on \d+ CPUs, no pool\) \| \d+ \|`, report, "the oversubscribed cluster's load row")
		// A fatal error in the work ends one child of the process-worker
		// setup: the crashing request gets a 500 and no server process
		// exits, as in the cluster only the crashing process is lost.
		require.Regexp(t, regexp.QuoteMeta("| crew pool (1 server process, 2 process workers) | fatal error (process exits) | 500 | ")+
			`\d+ of \d+ \| [^|]+ \| none \(a worker process was replaced\) \|`, report)
		require.Regexp(t, regexp.QuoteMeta("| plain server (1 process) | fatal error (process exits) | connection lost | "), report)
		// The two pools take turns once; the process pool's CPU is split
		// between its server and its workers, and the workers did work.
		require.Regexp(t, `\| 1 \| \d+ \| \d+ \| [\d.]+x \| [^|]+ \| \d+us \| \d+us \+ [1-9]\d*us \|`, report)
		require.Contains(t, report, "Process workers' goodput over goroutine workers': median ")
	})
}

// ownChildren returns the PIDs of this process's children, zombies
// included.
func ownChildren(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("/proc/self/task/*/children")
	require.NoError(t, err)
	var pids []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		pids = append(pids, strings.Fields(string(data))...)
	}
	return pids
}
