package pool

import (
	"context"
	"sync/atomic"
)

// Future is the pending result of a task started by Submit or TrySubmit.
// Every future resolves exactly once, with a result or an error, even when
// the pool is closed or its worker crashes. It is safe for concurrent use.
type Future[Out any] struct {
	ctx   context.Context // the submitter's; nil when it cannot be cancelled
	done  chan struct{}   // closed on resolution; nil for fire-and-forget
	state atomic.Uint32   // pending, resolving, resolved
	out   Out
	err   error
	// signal makes resolution send one token on done instead of closing
	// it, so that Run can reuse the future after taking the token.
	signal bool
	lender uint32 // Run's futures: the lenders entry last borrowed from
	seq    uint64 // Run's futures: counts their uses, to pick samples (see core.now)
	core   *core
}

const (
	pending uint32 = iota
	resolving
	resolved
)

// Done returns a channel that is closed when the future is resolved.
func (f *Future[Out]) Done() <-chan struct{} { return f.done }

// Wait blocks until the task is resolved and returns its result, or returns
// ctx.Err() if ctx ends first; the task itself goes on unless it was
// submitted with that ctx. Waiting from inside a task of the same pool is
// safe: the pool adds a worker while the waiter blocks, so nested waits
// cannot starve it.
func (f *Future[Out]) Wait(ctx context.Context) (Out, error) {
	select {
	case <-f.done:
		return f.out, f.err
	default:
	}
	if f.core.nested(ctx) {
		defer f.core.block()()
	}
	select {
	case <-f.done:
		return f.out, f.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// resolve sets the result unless the future is already resolved, and
// reports whether it did.
func (f *Future[Out]) resolve(out Out, err error) bool {
	if !f.state.CompareAndSwap(pending, resolving) {
		return false
	}
	f.out, f.err = out, err
	f.state.Store(resolved)
	switch {
	case f.done == nil: // fire-and-forget: the pool reports errors itself
	case f.signal:
		f.done <- struct{}{}
	default:
		close(f.done)
	}
	return true
}

// reset prepares a signal future taken from the free list for reuse.
func (f *Future[Out]) reset(ctx context.Context) {
	var zero Out
	f.out, f.err = zero, nil
	f.ctx = cancellable(ctx)
	f.state.Store(pending)
	f.seq++
}

// cancellable returns ctx, or nil when ctx can never be cancelled, so that
// workers skip the checks.
func cancellable(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return nil
	}
	return ctx
}
