package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
)

// pairRound is one round of the interleaved comparison of the two pools:
// the goroutine pool, then the process-worker pool, each started afresh
// and measured under the same closed loop, one right after the other.
type pairRound struct {
	pool, proc pairPoint
}

// pairPoint is one setup in one round.
type pairPoint struct {
	goodput float64       // successful responses per second
	p99     time.Duration // of successful responses
	server  time.Duration // CPU time of the server processes per successful response
	workers time.Duration // CPU time of their child processes (process workers) per successful response
}

// ratio is the process-worker pool's goodput over the goroutine pool's.
func (r pairRound) ratio() float64 {
	if r.pool.goodput == 0 {
		return 0
	}
	return r.proc.goodput / r.pool.goodput
}

// measurePairs runs cfg.pairRounds rounds of pool then proc, each under
// cfg.pairClients clients retrying at once, for cfg.warmup and then
// cfg.pairFor. Taking turns puts both setups in the same moments of a
// shared machine, which sequential runs of whole setups do not; the CPU
// time per request, read from /proc, shows where a request's cost goes
// whatever the machine's load.
func measurePairs(ctx context.Context, cfg config, pool, proc setup, bin string) ([]pairRound, error) {
	var rounds []pairRound
	for i := range cfg.pairRounds {
		var r pairRound
		for _, m := range []struct {
			s  setup
			to *pairPoint
		}{{pool, &r.pool}, {proc, &r.proc}} {
			p, err := measurePair(ctx, cfg, m.s, bin)
			if err != nil {
				return rounds, err
			}
			*m.to = p
		}
		progress("round %d of %d: goroutine workers %.0f req/s, process workers %.0f req/s (%.2fx)",
			i+1, cfg.pairRounds, r.pool.goodput, r.proc.goodput, r.ratio())
		rounds = append(rounds, r)
	}
	return rounds, nil
}

// measurePair starts s, drives it and stops it.
func measurePair(ctx context.Context, cfg config, s setup, bin string) (pairPoint, error) {
	r, err := start(ctx, s, bin, cfg.workers)
	if err != nil {
		return pairPoint{}, err
	}
	defer func() { _ = r.m.Stop(context.Background()) }()
	c := loadgen.NewClient(cfg.pairClients)
	defer c.CloseIdleConnections()
	url := fmt.Sprintf("http://%s/api/digest?rounds=%d&seed=compare", r.m.Addr(), cfg.rounds)
	o := loadgen.Options{Model: loadgen.Retry, Clients: cfg.pairClients}
	if cfg.warmup > 0 {
		if _, err := loadgen.Run(ctx, c, url, cfg.warmup, o); err != nil {
			return pairPoint{}, err
		}
	}
	server0, workers0 := r.cpu()
	res, err := loadgen.Run(ctx, c, url, cfg.pairFor, o)
	if err != nil {
		return pairPoint{}, err
	}
	server1, workers1 := r.cpu()
	p := pairPoint{goodput: res.Goodput(), p99: res.Quantile(0.99)}
	if res.OK > 0 {
		p.server = (server1 - server0) / time.Duration(res.OK)
		p.workers = (workers1 - workers0) / time.Duration(res.OK)
	}
	return p, r.m.Stop(ctx)
}

// cpu returns the CPU time (user and system) used so far by the setup's
// server processes, and by their children: the process workers of proc.
// Both are 0 where /proc is missing.
func (r *running) cpu() (server, workers time.Duration) {
	for _, st := range r.m.Status() {
		server += cpuTime(st.PID)
		for _, c := range children(st.PID) {
			workers += cpuTime(c)
		}
	}
	return server, workers
}

// clockTick is the unit of /proc/PID/stat's CPU times: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime reads the user and system time of process pid from
// /proc/PID/stat; 0 if it cannot.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses, so
	// count fields after its last closing parenthesis; utime and stime are
	// the 14th and 15th fields of the line, the 12th and 13th after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	user, err1 := strconv.ParseInt(f[11], 10, 64)
	system, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(user+system) * clockTick
}

// writePairTable writes the rounds, and the median ratio with its range.
func writePairTable(w io.Writer, cfg config, pool, proc setup, rounds []pairRound) {
	fmt.Fprintf(w, "Goroutine and process workers taking turns: %d rounds; in each, the %s and then the %s, each started afresh, under %d clients retrying at once for %v after %v of warm-up. CPU is the user and system time of the server process, and of its process workers, per successful request.\n\n",
		len(rounds), pool.label, proc.label, cfg.pairClients, cfg.pairFor, cfg.warmup)
	fmt.Fprintln(w, "| round | goroutine workers (req/s) | process workers (req/s) | process / goroutine | p99, goroutine / process | CPU per request, goroutine pool | CPU per request, process pool: server + workers |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	ratios := make([]float64, 0, len(rounds))
	for i, r := range rounds {
		ratios = append(ratios, r.ratio())
		fmt.Fprintf(w, "| %d | %.0f | %.0f | %.2fx | %s / %s | %s | %s + %s |\n", i+1, r.pool.goodput, r.proc.goodput,
			r.ratio(), ms(r.pool.p99), ms(r.proc.p99), us(r.pool.server+r.pool.workers), us(r.proc.server), us(r.proc.workers))
	}
	if len(ratios) == 0 {
		return
	}
	slices.Sort(ratios)
	fmt.Fprintf(w, "\nProcess workers' goodput over goroutine workers': median %.2fx, range %.2fx to %.2fx.\n",
		ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
}

// us formats a CPU time per request in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%dus", d.Microseconds()) }
