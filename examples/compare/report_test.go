package main

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func samplePoints() []point {
	var ps []point
	for i, s := range []string{"plain", "pool", "cluster"} {
		for _, r := range []int{100, 200, 300} {
			ps = append(ps, point{setup: s, offered: r, goodput: float64(r), requests: uint64(8 * r),
				p50: time.Duration(r*(i+1)) * time.Microsecond, p99: time.Duration(r*(i+1)) * 10 * time.Microsecond,
				rss: 12 << 20})
		}
	}
	return ps
}

func TestReport(t *testing.T) {
	ss := setups(2, 2)
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
		})
		require.Contains(t, b.String(), "| crew pool (1 process, 2 workers) | panic in a request's work | 500 | 0 of 400 | 0s | none (no process exited) |")
		require.Contains(t, b.String(), "| plain server (1 process) | panic in a request's work | connection lost | 31 of 400 | 140ms | 110ms |")
	})
	t.Run("the chart is well-formed SVG with two lines per setup", func(t *testing.T) {
		var b strings.Builder
		require.NoError(t, writeChart(&b, "a <title>", ss, samplePoints()))
		dec := xml.NewDecoder(strings.NewReader(b.String()))
		lines := 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
				lines++
			}
		}
		require.Equal(t, 6, lines)
		for _, s := range ss {
			require.Contains(t, b.String(), s.label)
		}
		require.Contains(t, b.String(), "a &lt;title&gt;")
	})
	t.Run("a chart without data is an error", func(t *testing.T) {
		require.Error(t, writeChart(io.Discard, "", ss, nil))
	})
}

func TestParse(t *testing.T) {
	t.Run("the defaults measure three setups at three loads", func(t *testing.T) {
		c, err := parse(nil)
		require.NoError(t, err)
		require.Equal(t, []float64{0.5, 1, 1.5}, c.levels)
		require.Equal(t, []string{"plain", "pool", "cluster"}, c.setups)
	})
	for _, tc := range []struct{ name, arg, msg string }{
		{"an unknown setup is refused", "-setups=plain,forks", `-setups must name plain, pool or cluster, got "forks"`},
		{"a bad level is refused", "-levels=1,x", "-levels must be positive numbers"},
		{"an unbounded run is refused", "-duration=2m", "-duration plus -warmup must be at most 1m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]string{tc.arg})
			require.ErrorContains(t, err, tc.msg)
		})
	}
}
