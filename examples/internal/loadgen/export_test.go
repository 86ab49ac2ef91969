package loadgen

import (
	"context"
	"time"
)

// WithWait returns o with wait replacing the timer that paces the open
// loop and the Retry-After waits.
func WithWait(o Options, wait func(ctx context.Context, d time.Duration) error) Options {
	o.wait = wait
	return o
}

// ParseRetryAfter is parseRetryAfter.
var ParseRetryAfter = parseRetryAfter
