package httpx

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/crewkit/crew/pool"
)

// Compute runs fn on p and returns its result to the calling goroutine,
// which keeps the request's I/O: read the body, call Compute for the
// CPU-bound part, write the response. It never waits for queue room: when
// the queue is full it fails at once with pool.ErrQueueFull. It applies the
// default waiting budget (DefaultMaxWait) as Offload does: when p
// estimates a wait of more than four budgets, or fn waited longer than one
// by the time a worker reaches it, it fails with ErrOverloaded and fn never
// runs. With [ConnContext] on the server, fn that waited in the queue does
// not run either when its client has closed the connection: Compute fails
// with ErrClientGone. It blocks until
// fn has returned, or until ctx ends (fn then never starts if it was still
// queued, and sees ctx cancelled if it was running). A panic in fn is
// returned as a *pool.PanicError. [Offloader.WriteError] turns these errors
// into responses.
//
// Called from a handler that Offload already runs on p, Compute calls fn in
// place: the handler holds a worker of p already, and queueing behind itself
// could only delay it or, with every worker busy, deadlock.
func Compute[T any](ctx context.Context, p *pool.Tasks, fn func(ctx context.Context) (T, error)) (T, error) {
	var out, zero T
	if ctx.Value(offloadedKey{}) == p {
		return inline(ctx, fn)
	}
	if p.EstimatedWait() > hopeless*DefaultMaxWait {
		p.CountRejected()
		return zero, ErrOverloaded
	}
	enq := time.Now()
	fut, err := p.TrySubmit(ctx, func(ctx context.Context) error {
		waited := time.Since(enq)
		if waited > DefaultMaxWait {
			return ErrOverloaded
		}
		if gone(ctx, waited) {
			return ErrClientGone
		}
		var err error
		out, err = fn(ctx)
		return err
	})
	if err != nil {
		return zero, err
	}
	if _, err := fut.Wait(ctx); err != nil {
		return zero, err // fn may still be running: never read out
	}
	return out, nil
}

// inline calls fn on the calling goroutine, returning a panic as a
// *pool.PanicError as the pool would.
func inline[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) (out T, err error) {
	defer func() {
		if v := recover(); v != nil {
			var zero T
			out, err = zero, &pool.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}
