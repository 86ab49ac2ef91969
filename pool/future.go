package pool

import (
	"context"
	"runtime"
	"sync/atomic"
)

// Future is the pending result of a task started by Submit or TrySubmit.
// Every future resolves exactly once, with a result or an error, even when
// the pool is closed or its worker crashes. It is safe for concurrent use.
type Future[Out any] struct {
	ctx context.Context // the submitter's, or nil for context.Background and TODO (see kept)
	// done gets one token per resolution for Run's futures (signal), and
	// is nil for a fire-and-forget task's. A future returned by Submit or
	// TrySubmit (lazy) has no done: its channel is made only for a waiter
	// that must park, or for Done (see wake).
	done   chan struct{}
	state  atomic.Uint32 // pending, running, resolving, resolved
	lender uint32        // Run's futures: the lenders entry last borrowed from
	out    Out
	err    error
	// wake is the channel that resolution closes, made by the first
	// caller of Done (or a Wait about to park); resolution swaps in
	// core.closed, so that a channel asked for later is closed already.
	// Most waiters find the result without parking, and a future that
	// needs no channel costs one allocation less and a close less.
	wake atomic.Value // chan struct{}
	seq  uint64       // Run's futures: counts their uses, to pick samples (see core.now)
	core *core
	// stop deregisters the callback that abandons a queued task when its
	// ctx ends (Submit, TrySubmit and Go with a cancellable ctx; see watch).
	// watched says who has it: watchNone, watchSet (watch stored stop),
	// or watchDone (unwatch ran, and stopped it if it was set).
	stop    func() bool
	watched atomic.Uint32
	// signal makes resolution send one token on done instead of closing
	// it, so that Run can reuse the future after taking the token.
	signal bool
	// lazy marks a future of Submit or TrySubmit, whose channel is wake.
	lazy bool
	// tctx is the task's context when the future is used once (Submit,
	// TrySubmit, Go); Run's futures are reused and give each task its own.
	tctx taskCtx
}

const (
	watchNone uint32 = iota
	watchSet
	watchDone
)

// A future is pending while its task is queued. A task that can be
// abandoned (it has a ctx of its own) is marked running when a worker
// starts it; whoever moves the future out of pending first decides whether
// the task runs or is abandoned in the queue.
const (
	pending uint32 = iota
	running
	resolving
	resolved
)

// Done returns a channel that is closed when the future is resolved. The
// first call makes the channel; Wait needs none when the result is there
// by the time it looks.
func (f *Future[Out]) Done() <-chan struct{} {
	if !f.lazy {
		return f.done
	}
	if c, ok := f.wake.Load().(chan struct{}); ok {
		return c
	}
	c := make(chan struct{})
	if f.wake.CompareAndSwap(nil, c) {
		return c // resolution closes it
	}
	return f.wake.Load().(chan struct{}) // another caller's, or core.closed
}

// detached reports whether nobody can wait on f: a fire-and-forget task's.
func (f *Future[Out]) detached() bool { return f.done == nil && !f.lazy }

// Wait blocks until the task is resolved and returns its result, or returns
// ctx.Err() if ctx ends first; the task itself goes on unless it was
// submitted with that ctx. A task of the same pool may wait on a future
// with the ctx it was given (or one derived from it): the pool adds a worker
// while it blocks, so nested waits cannot starve it. With an unrelated ctx
// the pool cannot tell the waiter is its own task; see "Nested calls" in the
// package documentation.
func (f *Future[Out]) Wait(ctx context.Context) (Out, error) {
	if f.ready() {
		return f.out, f.err
	}
	if f.core.nested(ctx) {
		defer f.core.block()()
	}
	select {
	case <-f.Done():
		return f.out, f.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// readyYields is how many times a caller about to block on its task's
// result yields its processor first, looking for the result after each
// yield (see ready).
const readyYields = 2

// ready reports whether the future is resolved, taking Run's token if so,
// after yielding the processor up to readyYields times while it is not.
// The worker that the caller's submission woke is often readied on the
// caller's own processor, and a tiny task is over by the time the caller
// runs again: the caller then takes the result without parking in a
// select, and the worker resolves a future nobody waits on, without
// readying a goroutine. That spares the park and the wake-up of a select
// on two channels, the largest cost of a cross-goroutine request/reply
// (P2c in docs/benchmarks.md). A long task costs its caller the yields.
func (f *Future[Out]) ready() bool {
	for i := 0; ; i++ {
		if f.lazy {
			if f.state.Load() == resolved {
				return true
			}
		} else {
			select {
			case <-f.done:
				return true
			default:
			}
		}
		if i == readyYields {
			return false
		}
		runtime.Gosched()
	}
}

// resolve sets the result unless the future is already resolved, and
// reports whether it did.
func (f *Future[Out]) resolve(out Out, err error) bool {
	if !f.state.CompareAndSwap(pending, resolving) && !f.state.CompareAndSwap(running, resolving) {
		return false
	}
	if f.watched.Load() == watchSet {
		f.unwatch() // drained while queued: the ctx callback has nothing left to do
	}
	f.set(out, err)
	return true
}

// set stores the result of a future its caller moved to resolving, and
// wakes the waiters.
func (f *Future[Out]) set(out Out, err error) {
	f.out, f.err = out, err
	if f.lazy {
		// Done is closed before resolved is stored: a Wait that finds the
		// future resolved (see ready) returns with Done closed already.
		if c, _ := f.wake.Swap(f.core.closed).(chan struct{}); c != nil {
			close(c) // a waiter made it before the swap
		}
		f.state.Store(resolved)
		return
	}
	f.state.Store(resolved)
	switch {
	case f.done == nil: // fire-and-forget: the pool reports errors itself
	case f.signal:
		f.done <- struct{}{}
	default:
		close(f.done)
	}
}

// start marks the task of a cancellable future as running, and reports
// false when its caller abandoned it while it was queued: the worker then
// drops it. It releases the ctx callback, which has nothing left to do.
func (f *Future[Out]) start() bool {
	if !f.state.CompareAndSwap(pending, running) {
		f.core.gone.Add(-1) // the abandoned task has left the queue
		return false
	}
	if !f.signal { // Run's futures are never watched: Run waits on ctx itself
		f.unwatch()
	}
	return true
}

// abandon resolves the still-queued task of f with err, its caller's ctx
// error, and reports whether it did. The task stays in the queue as a
// tombstone until a worker or a drain takes it out (see start), but no
// longer counts as queued: it frees its place at once.
func (f *Future[Out]) abandon(err error) bool {
	c := f.core
	if !f.state.CompareAndSwap(pending, resolving) {
		return false // running, or resolved by a drain
	}
	c.gone.Add(1) // before the resolution wakes anyone, so Stats agree with it
	c.abandoned.Add(1)
	f.set(*new(Out), err)
	if f.detached() {
		c.opts.OnError(err) // fire-and-forget: as a worker would report it
	}
	return true
}

// watch abandons f's task as soon as ctx ends while it is queued. It is
// called once the task is queued; start or the task's end releases it. A
// task that a worker started already needs no watch.
func (f *Future[Out]) watch(ctx context.Context) {
	if f.state.Load() != pending || ctx.Done() == nil {
		return // nothing to watch: a ctx kept for its values never ends
	}
	// The callback captures f alone (f.ctx is ctx), the smallest closure.
	f.stop = context.AfterFunc(ctx, func() { f.abandon(f.ctx.Err()) })
	if !f.watched.CompareAndSwap(watchNone, watchSet) {
		f.stop() // unwatch ran meanwhile and found nothing to stop
		return
	}
	if f.state.Load() != pending {
		f.unwatch() // started or resolved while it registered: resolve saw nothing to stop
	}
}

// unwatch releases the callback registered by watch, if any. stop was
// written before watched became watchSet, so whoever swaps watchSet out
// may call it.
func (f *Future[Out]) unwatch() {
	if f.watched.Swap(watchDone) == watchSet {
		f.stop()
	}
}

// reset prepares a signal future taken from the free list for reuse by a
// caller with ctx; f keeps ctx as kept says.
func (f *Future[Out]) reset(ctx context.Context, keep bool) {
	var zero Out
	f.out, f.err = zero, nil
	f.ctx = nil
	if keep {
		f.ctx = ctx
	}
	f.state.Store(pending)
	f.seq++
}

// kept returns ctx when its task must see it, because it can be cancelled
// or may carry values, or nil for context.Background and context.TODO, so
// that workers skip the checks and the task gets the pool's context.
func kept(ctx context.Context) context.Context {
	if ctx.Done() == nil && empty(ctx) {
		return nil
	}
	return ctx
}

// empty reports whether ctx is context.Background or context.TODO, which
// carry nothing. Comparing an interface to them never panics: their
// dynamic type is comparable.
func empty(ctx context.Context) bool {
	return ctx == context.Background() || ctx == context.TODO()
}
