package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
	"github.com/crewkit/crew/examples/server/app"
)

// header describes the run: machine, request, capacity, timing and the
// load average at its start and end.
func header(cfg config, cells []cell, start, end string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d CPUs, %s/%s, %s. Each request: GET /api/digest, %d SHA-256 rounds (≈ %v of CPU).\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), cfg.hashRounds, cfg.work)
	var caps []string
	for _, c := range cells {
		if c.load == 0 && c.mode == 0 {
			caps = append(caps, fmt.Sprintf("%.0f", c.capacity))
		}
	}
	fmt.Fprintf(&b, "Capacity (plain chi, %d clients in a closed loop, per round): %s req/s.\n", cfg.capClients, strings.Join(caps, ", "))
	fmt.Fprintf(&b, "Each cell: %v after %v of warm-up, %d round(s); medians, with the min-max of the per-round ratios in brackets.\n",
		cfg.duration, cfg.warmup, cfg.repeat)
	if cfg.maxWait != 0 {
		fmt.Fprintf(&b, "The pool server's waiting budget (-max-wait): %v.\n", cfg.maxWait)
	}
	if cfg.procs != 0 {
		fmt.Fprintf(&b, "The servers' GOMAXPROCS (-procs): %d.\n", cfg.procs)
	}
	fmt.Fprintf(&b, "Load average (1, 5, 15 min): %s at start, %s at end.\n\n", start, end)
	return b.String()
}

// columns of the table.
var columns = []string{"load", "server", "goodput (req/s)", "goodput / plain", "goodput / capacity",
	"p50 ok", "p99 ok", "p99 / plain", "p99 / throttle", "503 (share of sent)", "other errors (share)",
	"abandoned", "503 / answers", "tasks run for gone clients"}

// table formats the cells as Markdown, one row per load and mode, with
// the medians over rounds and the ratios to plain chi (the first mode)
// and to Throttle in the same round.
func table(cfg config, cells []cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |\n|---|---|%s\n", strings.Join(columns, " | "), strings.Repeat("---:|", len(columns)-2))
	throttle := slices.Index(cfg.modes, app.ModeThrottle)
	for li, l := range cfg.loads {
		for mi, m := range cfg.modes {
			b.WriteString(row(l, m, rowStats(cells, li, mi, throttle)))
		}
	}
	return b.String()
}

// stats are one load and mode over the rounds: a value per round.
type stats struct {
	goodput, vsPlain, vsCapacity, p50, p99, p99Plain, p99Throttle []float64
	rejected, rejShare, errs, errShare, abandoned, rejAnswers     []float64
	gone, goneShare                                               []float64 // empty where the server cannot tell
}

func rowStats(cells []cell, li, mi, throttle int) stats {
	var s stats
	for _, c := range cells {
		if c.load != li || c.mode != mi {
			continue
		}
		r, base := c.res, find(cells, li, 0, c.round).res
		s.goodput = append(s.goodput, r.Goodput())
		s.vsPlain = append(s.vsPlain, div(r.Goodput(), base.Goodput()))
		s.vsCapacity = append(s.vsCapacity, div(r.Goodput(), c.capacity))
		s.p50, s.p99 = append(s.p50, float64(r.Quantile(0.5))), append(s.p99, float64(r.Quantile(0.99)))
		s.p99Plain = append(s.p99Plain, div(float64(r.Quantile(0.99)), float64(base.Quantile(0.99))))
		if throttle >= 0 {
			t := find(cells, li, throttle, c.round).res
			s.p99Throttle = append(s.p99Throttle, div(float64(r.Quantile(0.99)), float64(t.Quantile(0.99))))
		}
		errs := r.Other + r.Errors
		s.rejected, s.rejShare = append(s.rejected, float64(r.Rejected)), append(s.rejShare, share(r.Rejected, r.Sent))
		s.errs, s.errShare = append(s.errs, float64(errs)), append(s.errShare, share(errs, r.Sent))
		s.abandoned = append(s.abandoned, float64(r.Abandoned))
		s.rejAnswers = append(s.rejAnswers, share(r.Rejected, r.Answers()))
		if c.ran >= 0 {
			gone := max(c.ran-int64(r.OK), 0)
			s.gone, s.goneShare = append(s.gone, float64(gone)), append(s.goneShare, share(int(gone), int(c.ran)))
		}
	}
	return s
}

func row(l load, m app.Mode, s stats) string {
	p99Throttle := "–"
	if l.closed() && len(s.p99Throttle) > 0 {
		p99Throttle = spread(s.p99Throttle)
	}
	gone := "n/a"
	if len(s.gone) > 0 {
		gone = fmt.Sprintf("%.0f (%s)", median(s.gone), pct(median(s.goneShare)))
	}
	abandoned := "–"
	if l.model == loadgen.Abandon {
		abandoned = fmt.Sprintf("%.0f", median(s.abandoned))
	}
	cols := []string{l.String(), label(m), fmt.Sprintf("%.0f", median(s.goodput)), spread(s.vsPlain), spread(s.vsCapacity),
		ms(time.Duration(median(s.p50))), ms(time.Duration(median(s.p99))), spread(s.p99Plain), p99Throttle,
		fmt.Sprintf("%.0f (%s)", median(s.rejected), pct(median(s.rejShare))),
		fmt.Sprintf("%.0f (%s)", median(s.errs), pct(median(s.errShare))),
		abandoned, pct(median(s.rejAnswers)), gone}
	return "| " + strings.Join(cols, " | ") + " |\n"
}

// find returns the cell of load li and mode mi in round.
func find(cells []cell, li, mi, round int) cell {
	for _, c := range cells {
		if c.load == li && c.mode == mi && c.round == round {
			return c
		}
	}
	return cell{}
}

// spread formats the median of per-round ratios, with their min-max when
// there is more than one round.
func spread(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	if len(v) == 1 {
		return fmt.Sprintf("%.2f", v[0])
	}
	return fmt.Sprintf("%.2f (%.2f-%.2f)", median(v), slices.Min(v), slices.Max(v))
}

// median returns the middle value of v (the mean of the two middle ones
// for an even count), zero for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func div(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func share(n, of int) float64 { return div(float64(n), float64(of)) }

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func label(m app.Mode) string {
	switch m {
	case app.ModePlain:
		return "plain chi"
	case app.ModeThrottle:
		return "chi middleware.Throttle"
	case app.ModePool:
		return "httpx.Offload (crew pool)"
	}
	return string(m)
}

// ms rounds d for a table: to 0.1ms below a second, to 1ms above.
func ms(d time.Duration) string {
	if d >= time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}
