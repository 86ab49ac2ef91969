package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
)

// clientLoad is a closed loop of clients of one model.
type clientLoad struct {
	model   loadgen.Model
	clients int
}

// String names the load for the tables and the chart.
func (l clientLoad) String() string {
	switch l.model {
	case loadgen.Retry:
		return fmt.Sprintf("%d clients retrying at once", l.clients)
	case loadgen.RetryAfter:
		return fmt.Sprintf("%d clients honouring Retry-After", l.clients)
	case loadgen.Abandon:
		return fmt.Sprintf("%d clients, some abandoning", l.clients)
	}
	return fmt.Sprintf("%d clients, %s", l.clients, l.model)
}

// parseLoads returns every model of models (comma-separated; empty for
// none) with every client count of clients.
func parseLoads(models, clients string) ([]clientLoad, error) {
	if models == "" {
		return nil, nil
	}
	var counts []int
	for c := range strings.SplitSeq(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-model-clients must be positive integers separated by commas, got %q", clients)
		}
		counts = append(counts, n)
	}
	var ls []clientLoad
	for m := range strings.SplitSeq(models, ",") {
		model, err := loadgen.ParseModel(strings.TrimSpace(m))
		if err != nil || model == loadgen.Open {
			return nil, fmt.Errorf("-models must name retry, retry-after or abandon, got %q", m)
		}
		for _, n := range counts {
			ls = append(ls, clientLoad{model, n})
		}
	}
	return ls, nil
}

// modelPoint is one setup under one closed-loop load.
type modelPoint struct {
	setup     string
	load      clientLoad
	goodput   float64       // successful responses per second
	rejRate   float64       // 503 responses per second
	p50, p99  time.Duration // of successful responses
	sent      int
	rejected  int // 503 and 429
	failed    int // errors and other statuses
	abandoned int // cancelled by their client
}

// measureModel drives r with l's clients for a warm-up, then for
// cfg.duration.
func measureModel(ctx context.Context, cfg config, r *running, l clientLoad) (modelPoint, error) {
	c := loadgen.NewClient(l.clients)
	defer c.CloseIdleConnections()
	url := fmt.Sprintf("http://%s/api/digest?rounds=%d&seed=compare", r.m.Addr(), cfg.rounds)
	o := loadgen.Options{Model: l.model, Clients: l.clients, Abandon: cfg.abandon}
	if cfg.warmup > 0 {
		if _, err := loadgen.Run(ctx, c, url, cfg.warmup, o); err != nil {
			return modelPoint{}, err
		}
	}
	res, err := loadgen.Run(ctx, c, url, cfg.duration, o)
	if err != nil {
		return modelPoint{}, err
	}
	return modelPoint{setup: r.name, load: l, goodput: res.Goodput(), rejRate: perSecond(res.Rejected, res.Elapsed),
		p50: res.Quantile(0.5), p99: res.Quantile(0.99), sent: res.Sent, rejected: res.Rejected,
		failed: res.Other + res.Errors, abandoned: res.Abandoned}, ctx.Err()
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
