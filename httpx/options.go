package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// DefaultRetryAfter is the Retry-After sent with rejections when
// Options.RetryAfter is zero.
const DefaultRetryAfter = time.Second

// DefaultMaxWait is the waiting budget of a request when Options.MaxWait is
// zero: a request that could not start within it is shed.
const DefaultMaxWait = 250 * time.Millisecond

// Options configures an [Offloader], [Compute] and [Handle]. The zero value
// is valid: requests that could not start within DefaultMaxWait are shed,
// rejections are 503 with "Retry-After: 1",
// handlers that time out get 503, and failures are logged with the default
// slog logger.
type Options struct {
	// MaxWait is the waiting budget: how long a request may wait in the
	// pool's queue for a worker. Offload answers a request that waited
	// longer, by the time a worker reaches it, with RejectStatus without
	// running it, and one arriving when the pool estimates a wait of more
	// than four times MaxWait (pool.Pool.EstimatedWait) at once, so that
	// the latency of the requests served stays bounded whoever the clients
	// are. ShedOnlyFloods narrows this to a queue that keeps growing. Zero
	// means DefaultMaxWait (250ms); a negative value turns the budget off,
	// leaving only the queue's bound (QueueSize). See docs/httpx.md for the
	// rule and why admission is by time, not by count.
	MaxWait time.Duration

	// ShedOnlyFloods makes Offload apply MaxWait only while the queue keeps
	// growing, as under an open-loop flood, and serve in full, in FIFO
	// order, a queue that is long but drained as fast as it fills, as a
	// closed population of clients keeps it: each client then waits about
	// the population divided by the throughput, which may be many budgets.
	// Choose it when clients do not retry a 503 (they would only come back)
	// and would rather wait than be refused, for example a fixed set of
	// batch clients or a proxy that caps the requests in flight. False (the
	// default) sheds by the budget whatever the load, which bounds the
	// latency of every request served. Handle and Compute ignore it.
	ShedOnlyFloods bool

	// RejectStatus is the status of a request refused because the pool's
	// queue is full, or because the pool is closing or has failed. Zero
	// means 503 Service Unavailable. It must be a 4xx or 5xx status.
	RejectStatus int

	// RetryAfter is sent, rounded up to whole seconds, in the Retry-After
	// header of rejections. Zero means DefaultRetryAfter (one second). It
	// must not be negative.
	RetryAfter time.Duration

	// TimeoutStatus is the status of a request whose handler ran past the
	// pool's TaskTimeout without writing a response. Zero means 503 Service
	// Unavailable, as http.TimeoutHandler answers. It must be a 4xx or 5xx
	// status.
	TimeoutStatus int

	// OnError, if set, is told about handlers that panicked, timed out or
	// were declared hung. Nil means they are logged with slog's default
	// logger, panics with their stack. Rejections and clients that went away
	// are not errors and are not reported. It runs on the request goroutine.
	OnError func(r *http.Request, err error)
}

// withDefaults validates o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	for _, f := range []struct {
		name string
		code *int
	}{{"RejectStatus", &o.RejectStatus}, {"TimeoutStatus", &o.TimeoutStatus}} {
		if *f.code == 0 {
			*f.code = http.StatusServiceUnavailable
		}
		if *f.code < 400 || *f.code > 599 {
			return o, fmt.Errorf("httpx: %s must be a 4xx or 5xx status, got %d", f.name, *f.code)
		}
	}
	if o.RetryAfter < 0 {
		return o, fmt.Errorf("httpx: RetryAfter must be >= 0, got %v", o.RetryAfter)
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if o.OnError == nil {
		o.OnError = logError
	}
	return o, nil
}

// retryAfter formats d as the whole seconds of a Retry-After header.
func retryAfter(d time.Duration) string {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return fmt.Sprint(s)
}

// logError is the default Options.OnError.
func logError(r *http.Request, err error) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "err", err}
	if stack := panicStack(err); stack != "" {
		attrs = append(attrs, "stack", stack)
	}
	slog.ErrorContext(r.Context(), "httpx: handler failed", attrs...)
}
