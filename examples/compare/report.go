package main

import (
	"fmt"
	"io"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
)

// writeLoadTable writes the load results as a Markdown table, one row per
// setup and offered load.
func writeLoadTable(w io.Writer, ss []setup, points []point) {
	fmt.Fprintln(w, "| setup | offered (req/s) | goodput (req/s) | p50 | p99 | rejected (503) | failed | memory (RSS, all processes) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, p := range points {
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %d | %d | %s |\n", labelOf(ss, p.setup), p.offered, p.goodput,
			ms(p.p50), ms(p.p99), p.rejected, p.failed, manager.MiB(p.rss))
	}
}

// writeModelTable writes the closed-loop results as a Markdown table, one
// row per setup and load.
func writeModelTable(w io.Writer, ss []setup, models []modelPoint) {
	fmt.Fprintln(w, "| setup | clients | goodput (req/s) | p50 | p99 | rejected (503, share of sent) | failed | abandoned |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, p := range models {
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %d (%.1f%%) | %d | %d |\n", labelOf(ss, p.setup), p.load, p.goodput,
			ms(p.p50), ms(p.p99), p.rejected, 100*float64(p.rejected)/float64(max(p.sent, 1)), p.failed, p.abandoned)
	}
}

// writeCrashTable writes the crash experiments as a Markdown table.
func writeCrashTable(w io.Writer, ss []setup, crashes []crashResult) {
	fmt.Fprintln(w, "| setup | fault | crashing request got | other requests failed | disruption | process restart |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|")
	for _, c := range crashes {
		restart := "none (no process exited)"
		switch {
		case c.exited:
			restart = ms(c.restart)
		case c.workerGone:
			restart = "none (a worker process was replaced)"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d of %d | %s | %s |\n", labelOf(ss, c.setup), c.fault, c.answer,
			c.failed, c.requests, ms(c.disruption), restart)
	}
}

func labelOf(ss []setup, name string) string {
	for _, s := range ss {
		if s.name == name {
			return s.label
		}
	}
	return name
}

// ms rounds d for a table: to 0.1ms below a second, to 1ms above.
func ms(d time.Duration) string {
	if d >= time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}
