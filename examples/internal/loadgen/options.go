package loadgen

import (
	"context"
	"fmt"
	"time"
)

// Options configures Run. The zero value of each field but Clients (and
// Rate for the Open model) means the default its comment states.
type Options struct {
	// Model is how the clients pace their requests. The zero value is
	// Open.
	Model Model
	// Clients is the number of concurrent clients; for Open, the most
	// requests in flight. It must be at least 1.
	Clients int
	// Rate is the requests per second that Open offers; it must be
	// positive for Open and is ignored by the other models.
	Rate float64
	// Abandon is the fraction of clients, in (0, 1], that cancel their
	// requests in the Abandon model; zero means 0.25. Clients*Abandon is
	// rounded to the nearest whole client.
	Abandon float64
	// AbandonMin and AbandonMax bound the random time after which an
	// abandoning client cancels a request; zero means 1ms and 60ms.
	AbandonMin, AbandonMax time.Duration
	// Timeout bounds each request, including reading its body; zero means
	// 10s.
	Timeout time.Duration
	// Requests is the most requests sent in all, zero for no limit: the
	// run then ends only with its duration or its context.
	Requests int

	// wait blocks for d or until ctx ends; nil means a timer. Tests
	// replace it.
	wait func(ctx context.Context, d time.Duration) error
}

func (o Options) withDefaults() (Options, error) {
	if o.Abandon == 0 {
		o.Abandon = 0.25
	}
	if o.AbandonMin == 0 {
		o.AbandonMin = time.Millisecond
	}
	if o.AbandonMax == 0 {
		o.AbandonMax = 60 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.wait == nil {
		o.wait = sleep
	}
	switch {
	case o.Model < Open || o.Model > Abandon:
		return o, fmt.Errorf("loadgen: unknown %v", o.Model)
	case o.Clients < 1:
		return o, fmt.Errorf("loadgen: Clients must be >= 1, got %d", o.Clients)
	case o.Model == Open && !(o.Rate > 0):
		return o, fmt.Errorf("loadgen: Rate must be > 0 for the open model, got %v", o.Rate)
	case !(o.Abandon > 0 && o.Abandon <= 1):
		return o, fmt.Errorf("loadgen: Abandon must be in (0, 1], got %v", o.Abandon)
	case o.AbandonMin < 0 || o.AbandonMax < o.AbandonMin:
		return o, fmt.Errorf("loadgen: want 0 <= AbandonMin <= AbandonMax, got %v and %v", o.AbandonMin, o.AbandonMax)
	case o.Timeout < 0 || o.Requests < 0:
		return o, fmt.Errorf("loadgen: Timeout and Requests must be >= 0, got %v and %d", o.Timeout, o.Requests)
	}
	return o, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
