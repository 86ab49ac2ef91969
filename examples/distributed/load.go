package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
)

// tally counts what happened to the tasks of one mode.
type tally struct {
	mu          sync.Mutex
	byMember    map[string]int
	latencies   []time.Duration
	sent        int
	failed      map[string]int // other errors, by message
	lost        int            // at-most-once calls whose member died
	lostRetry   int            // retry-on-failure calls that failed all the same: must stay 0
	unanswered  int            // durable tasks with no answer by the end: must stay 0
	resent      atomic.Int64
	redelivered atomic.Int64
	restarts    uint64 // caller workers rebuilt: Stats.Restarts of the caller pool
}

func newTally() *tally {
	return &tally{byMember: make(map[string]int), failed: make(map[string]int)}
}

func (t *tally) record(idempotent bool, r Result, d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent++
	switch {
	case err == nil:
		t.byMember[r.Member]++
		t.latencies = append(t.latencies, d)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		t.unanswered++
	case errors.Is(err, remote.ErrMemberLost) && !idempotent:
		t.lost++
	case idempotent:
		t.lostRetry++
		t.failed[err.Error()]++
	default:
		t.failed[err.Error()]++
	}
}

// drive runs tasks on p from n goroutines for d, then waits up to drain for
// the tasks in flight. In core mode every other call chooses retry on
// failure (remote.Idempotent); the others run at most once.
func drive(p *pool.Pool[Task, Result], t *tally, n, work int, d, drain time.Duration, core bool) {
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				idempotent := !core || (g+i)%2 == 0
				ctx, cancel := context.WithDeadline(context.Background(), stop.Add(drain))
				if core {
					if idempotent {
						ctx = remote.Idempotent(ctx)
					} else {
						ctx = remote.AtMostOnce(ctx)
					}
				}
				start := time.Now()
				r, err := p.Run(ctx, Task{N: g<<20 | i, Work: work})
				t.record(idempotent, r, time.Since(start), err)
				cancel()
			}
		})
	}
	wg.Wait()
}

// report prints one mode's results.
func (t *tally) report(w io.Writer, mode string, elapsed time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(w, "\n== %s mode: %d tasks sent in %v\n", mode, t.sent, elapsed.Round(time.Millisecond))
	names := make([]string, 0, len(t.byMember))
	for name := range t.byMember {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %7d tasks  %8.0f tasks/s\n", name, t.byMember[name], float64(t.byMember[name])/elapsed.Seconds())
	}
	slices.Sort(t.latencies)
	q := func(p float64) time.Duration {
		if len(t.latencies) == 0 {
			return 0
		}
		return t.latencies[int(p*float64(len(t.latencies)-1))].Round(time.Microsecond)
	}
	fmt.Fprintf(w, "  latency    p50 %v  p90 %v  p99 %v  max %v\n", q(0.5), q(0.9), q(0.99), q(1))
	fmt.Fprintf(w, "  completed  %d\n", len(t.latencies))
	if mode == "core" {
		fmt.Fprintf(w, "  resent     %d (members lost mid-task, sent again)\n", t.resent.Load())
		fmt.Fprintf(w, "  lost       %d at-most-once tasks (ErrMemberLost, as chosen)\n", t.lost)
		fmt.Fprintf(w, "  lost       %d retry-on-failure tasks\n", t.lostRetry)
		fmt.Fprintf(w, "  rebuilt    %d caller workers (a member lost under an at-most-once call crashes its worker)\n", t.restarts)
	} else {
		fmt.Fprintf(w, "  redelivered %d (their member died; the server sent them again after AckWait %v)\n", t.redelivered.Load(), ackWait)
		fmt.Fprintf(w, "  lost       %d tasks\n", t.lostRetry+t.unanswered)
	}
	for msg, n := range t.failed {
		fmt.Fprintf(w, "  failed     %d: %s\n", n, msg)
	}
}

// lostAny reports tasks lost against the mode's promise: retry-on-failure
// calls in core mode, any task in durable mode.
func (t *tally) lostAny() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lostRetry + t.unanswered
}
