package main

import (
	"encoding/xml"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
	"github.com/stretchr/testify/require"
)

func samplePoints() []point {
	var ps []point
	for i, s := range []string{"plain", "pool", "cluster"} {
		for _, r := range []int{100, 200, 300} {
			ps = append(ps, point{setup: s, offered: r, goodput: float64(r), requests: uint64(8 * r),
				p50: time.Duration(r*(i+1)) * time.Microsecond, p99: time.Duration(r*(i+1)) * 10 * time.Microsecond,
				rejRate: float64(r) / 10, rss: 12 << 20})
		}
	}
	return ps
}

func sampleModels() []modelPoint {
	var ms []modelPoint
	for i, s := range []string{"plain", "pool", "cluster"} {
		for _, n := range []int{64, 256} {
			p := modelPoint{setup: s, load: clientLoad{loadgen.Retry, n}, goodput: float64(700 - 10*i), sent: 1200,
				p50: time.Duration(10*(i+1)) * time.Millisecond, p99: time.Duration(100/(i+1)) * time.Millisecond}
			if s == "pool" {
				p.rejected, p.rejRate = 300, 30
			}
			ms = append(ms, p)
		}
	}
	return ms
}

func TestReport(t *testing.T) {
	ss := setups(2, 4, 2)
	t.Run("the load table has one row per setup and level", func(t *testing.T) {
		var b strings.Builder
		writeLoadTable(&b, ss, samplePoints())
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		require.Len(t, lines, 2+9)
		require.Equal(t, "| plain server (1 process) | 100 | 100 | 100µs | 1ms | 0 | 0 | 12.0 MiB |", lines[2])
		require.Contains(t, lines[10], "cluster (2 processes, no pool) | 300 |")
	})
	t.Run("the crash table says when no process exited", func(t *testing.T) {
		var b strings.Builder
		writeCrashTable(&b, ss, []crashResult{
			{setup: "pool", fault: "panic in a request's work", answer: "500", requests: 400},
			{setup: "plain", fault: "panic in a request's work", answer: "connection lost", requests: 400, failed: 31,
				disruption: 140 * time.Millisecond, restart: 110 * time.Millisecond, exited: true},
			{setup: "proc", fault: "fatal error (process exits)", answer: "500", requests: 400, workerGone: true},
		})
		require.Contains(t, b.String(), "| crew pool (1 process, 2 goroutine workers) | panic in a request's work | 500 | 0 of 400 | 0s | none (no process exited) |")
		require.Contains(t, b.String(), "| crew pool (1 server process, 2 process workers) | fatal error (process exits) | 500 | 0 of 400 | 0s | none (a worker process was replaced) |")
		require.Contains(t, b.String(), "| plain server (1 process) | panic in a request's work | connection lost | 31 of 400 | 140ms | 110ms |")
	})
	t.Run("the chart is well-formed SVG with four lines per setup and two bars per closed-loop result", func(t *testing.T) {
		var b strings.Builder
		require.NoError(t, writeChart(&b, "a <title>", ss, samplePoints(), sampleModels()))
		dec := xml.NewDecoder(strings.NewReader(b.String()))
		count := map[string]int{}
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			if el, ok := tok.(xml.StartElement); ok {
				count[el.Name.Local]++
			}
		}
		require.Equal(t, 3*4, count["polyline"], "p50, p99, goodput and 503/s per setup")
		require.Equal(t, 1+2*6, count["rect"], "the background, then a goodput and a 503/s bar per setup and load")
		for _, s := range ss {
			require.Contains(t, b.String(), s.label)
		}
		require.Contains(t, b.String(), "a &lt;title&gt;")
		require.Contains(t, b.String(), "256 clients retrying at once")
	})
	t.Run("the closed-loop table has one row per setup and load", func(t *testing.T) {
		var b strings.Builder
		writeModelTable(&b, ss, sampleModels())
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		require.Len(t, lines, 2+6)
		require.Equal(t, "| plain server (1 process) | 64 clients retrying at once | 700 | 10ms | 100ms | 0 (0.0%) | 0 | 0 |", lines[2])
		require.Equal(t, "| crew pool (1 process, 2 goroutine workers) | 256 clients retrying at once | 690 | 20ms | 50ms | 300 (25.0%) | 0 | 0 |", lines[5])
	})
	t.Run("a chart without data is an error", func(t *testing.T) {
		require.Error(t, writeChart(io.Discard, "", ss, nil, nil))
	})
}

func TestParse(t *testing.T) {
	t.Run("the defaults measure five setups at three loads", func(t *testing.T) {
		c, err := parse(nil)
		require.NoError(t, err)
		require.Equal(t, []float64{0.5, 1, 1.5}, c.levels)
		require.Equal(t, []string{"plain", "pool", "proc", "cluster", "cluster-over"}, c.setups)
		require.Equal(t, 2*runtime.NumCPU(), c.over, "the oversubscribed cluster has twice the CPUs")
		require.Equal(t, []clientLoad{{loadgen.Retry, 64}, {loadgen.Retry, 256}}, c.loads)
	})
	t.Run("the chart goes outside the checkout unless -chart says otherwise", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		c, err := parse(nil)
		require.NoError(t, err)
		require.Equal(t, filepath.Join(tmp, "pool-vs-cluster.svg"), c.chart)
		root, err := filepath.Abs(filepath.Join("..", ".."))
		require.NoError(t, err)
		require.NotContains(t, c.chart, root+string(filepath.Separator), "the default chart is not in the checkout")
		c, err = parse([]string{"-chart", "../docs/pool-vs-cluster.svg"})
		require.NoError(t, err)
		require.Equal(t, "../docs/pool-vs-cluster.svg", c.chart, "regenerating the docs' chart takes the flag")
	})
	t.Run("closed loops can be left out", func(t *testing.T) {
		c, err := parse([]string{"-models="})
		require.NoError(t, err)
		require.Empty(t, c.loads)
	})
	for _, tc := range []struct{ name, arg, msg string }{
		{"an unknown setup is refused", "-setups=plain,forks", `-setups must name plain, pool, proc, cluster, cluster-over, got "forks"`},
		{"a bad level is refused", "-levels=1,x", "-levels must be positive numbers"},
		{"an unbounded run is refused", "-duration=2m", "-duration plus -warmup must be at most 1m"},
		{"the open loop is not a closed-loop model", "-models=open", `-models must name retry, retry-after or abandon, got "open"`},
		{"a bad client count is refused", "-model-clients=64,x", "-model-clients must be positive integers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]string{tc.arg})
			require.ErrorContains(t, err, tc.msg)
		})
	}
}
