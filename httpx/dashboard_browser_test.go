//go:build unix

package httpx_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// chromiumFlags run Chromium headless with nothing that reaches the network
// besides the page, and print the DOM once the virtual time budget is spent.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--virtual-time-budget=3000", "--dump-dom",
}

// browse loads url in headless Chromium and returns the DOM it rendered. It
// kills Chromium's whole process group when done and checks that none of
// its processes outlives the call.
func browse(t *testing.T, url string) string {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	require.NoError(t, err, "the dashboard is checked in headless Chromium: install Debian's chromium package (.ci/run does)")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	args := append([]string{"--user-data-dir=" + t.TempDir()}, chromiumFlags...)
	cmd := exec.CommandContext(ctx, chromium, append(args, url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Logf("chromium's stderr:\n%s", exit.Stderr)
	}
	require.NoError(t, err, "chromium")
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	require.Eventually(t, func() bool { return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) },
		5*time.Second, 20*time.Millisecond, "a Chromium process outlived the test")
	return string(out)
}

// attr returns the integer value of the first match of the attribute
// pattern name="N" in dom, or -1.
func attr(dom, name string) int {
	m := regexp.MustCompile(name + `="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestDashboardInBrowser(t *testing.T) {
	t.Run("the page shows the pool's data, its history and no error in headless Chromium", func(t *testing.T) {
		p := newTasks(t, pool.Options{Name: "browser", MaxWorkers: 2})
		d := httpx.DashboardHandler(p, httpx.DashboardOptions{Interval: 100 * time.Millisecond})
		t.Cleanup(d.Close) // before the pool closes
		srv := httptest.NewServer(d)
		t.Cleanup(srv.Close)

		d.Start()
		for range 17 {
			require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
		}
		for range 3 {
			require.Error(t, p.Run(bg, func(context.Context) error { return errors.New("failed on purpose") }))
		}
		// History the page did not see happen: at least five points.
		require.Eventually(t, func() bool {
			return len(dashboardData(t, d, "/?format=json").History) >= 5
		}, 10*time.Second, 20*time.Millisecond)

		dom := browse(t, srv.URL+"/debug/dashboard")
		shows := func(part, what string) {
			t.Helper()
			require.True(t, strings.Contains(dom, part), "%s: the page lacks %q", what, part)
		}
		errs := regexp.MustCompile(`(?s)<div id="errors" role="alert">(.*?)</div>\s*<main>`).FindStringSubmatch(dom)
		require.NotNil(t, errs, "the page has its error box")
		require.Empty(t, errs[1], "the page reports script errors")
		require.Equal(t, -1, attr(dom, "data-errors"))
		require.GreaterOrEqual(t, attr(dom, "data-polls"), 2, "the page polled its data more than once")
		shows(`<span id="conn" class="">updated `, "the last poll succeeded")
		shows(`<b>17</b><span>completed</span>`, "the completed counter")
		shows(`<b>3</b><span>failed</span>`, "the failed counter")
		shows(`<td id="run-n">20</td>`, "every task's run time was sampled")
		shows(`<span id="w-completed">17</span> completed`, "the last minute's completed tasks")
		shows(`<span id="w-errors">3</span> failed`, "the last minute's failures")
		require.Regexp(t, `<span id="goroutines">\d+</span>`, regexp.MustCompile(`<span id="goroutines">[^<]*</span>`).FindString(dom))

		for _, chart := range []string{"workers", "queue", "rate", "latency", "goroutines", "heap"} {
			m := regexp.MustCompile(`<svg id="chart-` + chart + `"[^>]*data-points="(\d+)"[^>]*>(.*?)</svg>`).FindStringSubmatch(dom)
			require.NotNil(t, m, "chart %s was drawn", chart)
			n, _ := strconv.Atoi(m[1])
			require.GreaterOrEqual(t, n, 5, "chart %s shows the history kept before the page opened", chart)
			require.Contains(t, m[2], `class="time">now</text>`, "chart %s has a time axis", chart)
			require.Contains(t, m[2], `class="time">−1m</text>`, "chart %s's time axis is marked in minutes", chart)
			require.Regexp(t, `<polyline [^>]*points="[\d.]+,[\d.]+ `, m[2], "chart %s has a line", chart)
			require.Len(t, regexp.MustCompile(`class="scale">[^<]+</text>`).FindAllString(m[2], -1), 3,
				"chart %s has a scale: 0, half and top", chart)
		}
	})
}
