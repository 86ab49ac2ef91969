package pool

import (
	"context"
	"time"
)

// Task is a unit of ad-hoc work for a Tasks pool.
type Task = func(ctx context.Context) error

// Tasks is a pool of closures, for ad-hoc work that needs no per-worker state
// (httpx runs request handlers on one). It has the queueing, backpressure,
// panic capture, deadlines and Stats of Pool; use Call for a typed result.
type Tasks struct {
	p *Pool[Task, struct{}]
}

// NewTasks returns a closure pool configured by opts.
func NewTasks(opts Options) (*Tasks, error) {
	p, err := NewFunc(func(ctx context.Context, fn Task) (struct{}, error) {
		return struct{}{}, fn(ctx)
	}, opts)
	if err != nil {
		return nil, err
	}
	return &Tasks{p: p}, nil
}

// Run queues fn, waiting while the queue is full, and returns its error once
// it ran, or ctx.Err() if ctx ends while fn is queued (fn then never runs).
// A running fn sees its context cancelled when ctx ends, and Run returns at
// once then (see Pool.Run).
func (t *Tasks) Run(ctx context.Context, fn Task) error {
	_, err := t.p.Run(ctx, fn)
	return err
}

// TryRun fails at once with ErrQueueFull when the queue is full instead of
// waiting for room, and returns only when fn is over: fn's error, or
// ctx.Err() if ctx ended while fn was queued (fn then never runs). A
// running fn sees its context cancelled when ctx ends, and TryRun waits for
// it to return (see Pool.TryRun).
func (t *Tasks) TryRun(ctx context.Context, fn Task) error {
	_, err := t.p.TryRun(ctx, fn)
	return err
}

// Submit queues fn, waiting while the queue is full, and returns its future.
func (t *Tasks) Submit(ctx context.Context, fn Task) (*Future[struct{}], error) {
	return t.p.Submit(ctx, fn)
}

// TrySubmit queues fn or fails at once with ErrQueueFull. ctx is never
// waited on; it is fn's context, so fn never runs if ctx ends while queued.
func (t *Tasks) TrySubmit(ctx context.Context, fn Task) (*Future[struct{}], error) {
	return t.p.TrySubmit(ctx, fn)
}

// Go queues fn without a way to wait for it; its error goes to
// Options.OnError. It waits while the queue is full until ctx ends.
func (t *Tasks) Go(ctx context.Context, fn Task) error { return t.p.Go(ctx, fn) }

// TryGo is Go that fails at once with ErrQueueFull when the queue is full.
func (t *Tasks) TryGo(ctx context.Context, fn Task) error { return t.p.TryGo(ctx, fn) }

// Close stops the pool as Pool.Close does.
func (t *Tasks) Close(ctx context.Context) error { return t.p.Close(ctx) }

// Stats returns a snapshot as Pool.Stats does.
func (t *Tasks) Stats() Stats { return t.p.Stats() }

// EstimatedWait returns how long a task queued now would wait, as
// Pool.EstimatedWait does.
func (t *Tasks) EstimatedWait() time.Duration { return t.p.EstimatedWait() }

// Queued returns the number of tasks waiting for a worker, as
// Pool.Queued does.
func (t *Tasks) Queued() int { return t.p.Queued() }

// CountRejected counts a task refused before it reached the pool, as
// Pool.CountRejected does.
func (t *Tasks) CountRejected() { t.p.CountRejected() }

// Resize changes MaxWorkers as Pool.Resize does.
func (t *Tasks) Resize(n int) error { return t.p.Resize(n) }

// Call runs fn on t and returns its typed result, waiting as Tasks.Run does.
func Call[T any](ctx context.Context, t *Tasks, fn func(ctx context.Context) (T, error)) (T, error) {
	var out T
	err := t.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	if err != nil {
		var zero T // fn may still be running if ctx ended: never read out
		return zero, err
	}
	return out, nil
}
