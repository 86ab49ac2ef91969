package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// faults are the crash experiments: the kind parameter of /api/crash and
// what the tables call it.
var faults = []struct{ kind, label string }{
	{"panic", "panic in a request's work"},
	{"exit", "fatal error (process exits)"},
}

// crashResult is one fault injected into one setup under steady load.
type crashResult struct {
	setup, fault string
	answer       string         // what the crashing request got
	requests     int            // other requests during the experiment
	failed       int            // other requests that failed
	disruption   time.Duration  // from the crash to the end of the last failed request
	restart      time.Duration  // from a process's exit to its replacement being ready
	exited       bool           // whether a server process exited
	workerGone   bool           // whether a process worker (a child of a server process) ended
	causes       map[string]int // failures by status or error
}

// crashTest offers rate requests per second to r for cfg.crashFor, sends one
// crashing request of kind after a quarter of that time, and counts the
// other requests that fail.
func crashTest(ctx context.Context, cfg config, r *running, rate int, kind, label string) (crashResult, error) {
	res := crashResult{setup: r.name, fault: label, causes: map[string]int{}}
	var results []*vegeta.Result
	attacked := make(chan struct{})
	go func() {
		defer close(attacked)
		attack(cfg.clients, rate, digest(r.m.Addr(), cfg.rounds), cfg.crashFor, func(v *vegeta.Result) {
			results = append(results, v)
		})
	}()
	timer := time.NewTimer(cfg.crashFor / 4) // the schedule of the experiment, not a synchronisation
	select {
	case <-timer.C:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	workers := r.workerPIDs()
	crashAt := time.Now()
	res.answer = crashRequest(ctx, r.m.Addr(), kind)
	<-attacked
	for _, pid := range workers {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			res.workerGone = true
		}
	}
	var lastEnd time.Time
	for _, v := range results {
		res.requests++
		if v.Code != http.StatusOK {
			res.failed++
			res.causes[cause(v)]++
			if end := v.Timestamp.Add(v.Latency); end.After(lastEnd) {
				lastEnd = end
			}
		}
	}
	if lastEnd.After(crashAt) {
		res.disruption = lastEnd.Sub(crashAt)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if kind == "exit" && r.mode != app.ModeProc {
		// The server process exits. Its socket closes a moment before the
		// manager reaps it, so the answer can come first: wait until the
		// manager has seen the exit, or the restart below would find the
		// dead process still listed as running and stop it as such.
		if err := r.events.exited(wctx, crashAt); err != nil {
			return res, fmt.Errorf("%s: %s: %w", r.name, label, err)
		}
	}
	res.restart, res.exited = r.events.restart(crashAt)
	return res, r.allRunning(wctx)
}

// crashRequest sends GET /api/crash?kind=kind and describes the answer.
func crashRequest(ctx context.Context, addr, kind string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/crash?kind="+kind, nil)
	if err != nil {
		return err.Error()
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "connection lost"
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return fmt.Sprintf("%d", resp.StatusCode)
}

// cause names why a request failed: its status, or the kind of error.
func cause(v *vegeta.Result) string {
	switch {
	case v.Code != 0:
		return strconv.Itoa(int(v.Code))
	case strings.Contains(v.Error, "connection refused"):
		return "connection refused"
	case strings.Contains(v.Error, "reset by peer"), strings.Contains(v.Error, "EOF"):
		return "connection lost"
	}
	return v.Error
}
