package main

import (
	"context"
	"fmt"

	"github.com/crewkit/crew/examples/internal/loadgen"
)

// load is one kind of client load: a model and its parameters.
type load struct {
	model    loadgen.Model
	clients  int     // concurrent clients; for the open loop, the most in flight
	overload float64 // open loop: offered rate as a multiple of capacity
	rate     int     // open loop: offered rate; 0 means overload times capacity
	abandon  float64 // abandon: fraction of clients that give up
}

// suite is the matrix that -suite runs.
var suite = []load{
	{model: loadgen.Retry, clients: 64},
	{model: loadgen.Retry, clients: 256},
	{model: loadgen.RetryAfter, clients: 256},
	{model: loadgen.Abandon, clients: 32, abandon: 0.25}, // the soak that found the problem: 8 of 32 give up
	{model: loadgen.Abandon, clients: 256, abandon: 0.25},
	{model: loadgen.Open, clients: 256, overload: 1.5},
	{model: loadgen.Open, clients: 256, overload: 3},
}

// closed reports whether the clients wait for each answer.
func (l load) closed() bool { return l.model != loadgen.Open }

// String describes the load for the table.
func (l load) String() string {
	switch l.model {
	case loadgen.Retry:
		return fmt.Sprintf("closed loop, %d clients retrying at once", l.clients)
	case loadgen.RetryAfter:
		return fmt.Sprintf("closed loop, %d clients honouring Retry-After", l.clients)
	case loadgen.Abandon:
		return fmt.Sprintf("closed loop, %d clients, %.0f%% abandoning after 1-60ms", l.clients, 100*l.abandon)
	}
	if l.rate > 0 {
		return fmt.Sprintf("open loop, %d req/s, up to %d clients", l.rate, l.clients)
	}
	return fmt.Sprintf("open loop, %gx capacity, up to %d clients", l.overload, l.clients)
}

// options returns the loadgen options of l when the measured capacity is
// capacity (requests per second).
func (l load) options(cfg config, capacity float64) loadgen.Options {
	o := loadgen.Options{Model: l.model, Clients: l.clients, Abandon: l.abandon, Timeout: cfg.timeout}
	if l.model == loadgen.Open {
		o.Rate = float64(l.rate)
		if l.rate == 0 {
			o.Rate = max(1, l.overload*capacity)
		}
	}
	return o
}

// cell is one load against one server in one round.
type cell struct {
	load     int // index in the run's loads
	mode     int // index in cfg.modes
	round    int
	capacity float64 // of this round
	res      loadgen.Result
	ran      int64 // pool tasks that succeeded during the run; -1 where the server cannot tell
}

// runCell warms srv up with l, then measures it. For a pool server it
// reads the pool's completed tasks before and after, each time once the
// pool is idle.
func runCell(ctx context.Context, cfg config, srv *server, l load, capacity float64) (loadgen.Result, int64, error) {
	c := loadgen.NewClient(l.clients)
	defer c.CloseIdleConnections()
	url := digestURL(srv, cfg)
	o := l.options(cfg, capacity)
	if cfg.warmup > 0 {
		if _, err := loadgen.Run(ctx, c, url, cfg.warmup, o); err != nil {
			return loadgen.Result{}, 0, err
		}
	}
	before, err := completed(ctx, c, srv)
	if err != nil {
		return loadgen.Result{}, 0, err
	}
	res, err := loadgen.Run(ctx, c, url, cfg.duration, o)
	if err != nil {
		return res, 0, err
	}
	after, err := completed(ctx, c, srv)
	if err != nil || before < 0 {
		return res, -1, err
	}
	return res, after - before, ctx.Err()
}

func digestURL(srv *server, cfg config) string {
	return fmt.Sprintf("http://%s/api/digest?rounds=%d&seed=p6", srv.addr, cfg.hashRounds)
}
