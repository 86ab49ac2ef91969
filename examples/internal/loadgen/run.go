package loadgen

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Run sends GET requests to url with c for d, paced as o says, and
// returns what the clients got. It blocks until every client has stopped:
// after d, or when ctx ends, no request starts and no client waits any
// longer; requests in flight then finish, each within o.Timeout, or end
// with ctx. It returns an error only for invalid Options.
func Run(ctx context.Context, c *http.Client, url string, d time.Duration, o Options) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	g := &gen{c: c, url: url, o: o}
	stop, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	if o.Model == Open {
		tokens := make(chan struct{})
		for range o.Clients {
			wg.Go(func() { g.merge(g.serve(ctx, tokens)) })
		}
		g.pace(stop, tokens)
		close(tokens)
	} else {
		abandoning := int(math.Round(o.Abandon * float64(o.Clients)))
		for i := range o.Clients {
			abandons := o.Model == Abandon && i < abandoning
			wg.Go(func() { g.merge(g.loop(ctx, stop, abandons)) })
		}
	}
	wg.Wait()
	g.res.finish(time.Since(start))
	return g.res, nil
}

// gen is one run.
type gen struct {
	c    *http.Client
	url  string
	o    Options
	sent atomic.Int64 // tickets taken, for Options.Requests

	mu  sync.Mutex
	res Result
}

func (g *gen) merge(r *Result) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.res.add(r)
}

// ticket reports whether one more request may be sent.
func (g *gen) ticket() bool {
	return g.o.Requests == 0 || g.sent.Add(1) <= int64(g.o.Requests)
}

// pace sends a token every 1/Rate seconds until stop ends or the requests
// run out; a token waits while every client is busy.
func (g *gen) pace(stop context.Context, tokens chan<- struct{}) {
	interval := time.Duration(float64(time.Second) / g.o.Rate)
	next := time.Now()
	for g.ticket() {
		if g.o.wait(stop, time.Until(next)) != nil {
			return
		}
		select {
		case tokens <- struct{}{}:
		case <-stop.Done():
			return
		}
		next = next.Add(interval)
	}
}

// serve is one client of the open loop: a request per token.
func (g *gen) serve(ctx context.Context, tokens <-chan struct{}) *Result {
	r := &Result{}
	for range tokens {
		g.do(ctx, r, 0)
	}
	return r
}

// loop is one client of a closed loop, until stop ends or the requests run
// out.
func (g *gen) loop(ctx, stop context.Context, abandons bool) *Result {
	r := &Result{}
	for stop.Err() == nil && g.ticket() {
		var after time.Duration
		if abandons {
			after = g.o.AbandonMin + rand.N(g.o.AbandonMax-g.o.AbandonMin+1)
		}
		retry := g.do(ctx, r, after)
		if g.o.Model == RetryAfter && retry > 0 && g.o.wait(stop, retry) != nil {
			break
		}
	}
	return r
}

// errAbandoned is the cause of a request its client gave up on.
var errAbandoned = errors.New("loadgen: the client gave up")

// do sends one request, cancelled after abandon if that is positive, and
// counts its outcome in r. It returns the Retry-After of a 503 or 429,
// zero if there was none.
func (g *gen) do(ctx context.Context, r *Result, abandon time.Duration) (retryAfter time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, g.o.Timeout)
	defer cancel()
	if abandon > 0 {
		var cancelAbandon context.CancelFunc
		ctx, cancelAbandon = context.WithTimeoutCause(ctx, abandon, errAbandoned)
		defer cancelAbandon()
	}
	r.Sent++
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url, nil)
	if err != nil {
		r.Errors++
		return 0
	}
	start := time.Now()
	resp, err := g.c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errAbandoned):
		r.Abandoned++
	case err != nil:
		r.Errors++
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		r.OK++
		r.Latencies = append(r.Latencies, time.Since(start))
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		r.Rejected++
		return parseRetryAfter(resp.Header.Get("Retry-After"))
	default:
		r.Other++
	}
	return 0
}

// parseRetryAfter reads a Retry-After value: seconds, or an HTTP date. It
// returns zero for a missing or invalid value.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
