package pool

import (
	"context"
	"sync/atomic"
	"time"
)

// taskCtx is the context a task runs with when its submitter's ctx can be
// cancelled or the pool has a TaskTimeout. It ends when that ctx ends, when
// a forced Close cancels running tasks, at TaskTimeout (with errDeadline as
// its cause), and when the task returns.
//
// The context package would give the same with WithValue and
// WithCancelCause, at three allocations and a lock on the submitter's ctx
// per task. Most handlers of small tasks never wait on ctx.Done, so taskCtx
// builds that real cancellable context only on demand: when Done is
// called, or when the pool ends the context while the task may still look
// at it. Until then Err and Value answer from the submitter's ctx, which is
// what the real context would answer too.
type taskCtx struct {
	parent context.Context // the submitter's ctx
	// real is the materialised context, once Done was called or the pool
	// ended the context; every method defers to it from then on. Until
	// then it points at the pool's unbuilt sentinel (core.unbuilt), which
	// carries only the pool's core. A task's context is 32 bytes this way,
	// half of what separate fields and a mutex took: every Run with a
	// cancellable ctx allocates one, and the bytes it allocates are what
	// sets how often the collector runs on the HTTP path.
	real atomic.Pointer[realCtx]
	// state holds due and, once the task returned, endedBit: the context
	// has ended, and a real context built from then on is built cancelled.
	// due is when TaskTimeout passes, as core.clock() reads it (zero
	// without one). Unlike context.WithTimeoutCause, no timer ends the
	// context then: whoever looks at it after due (Done, Err, Value, or the
	// pool once a task that failed returned) builds the real context, which
	// is built ended (see passed). A task that never calls Done pays for
	// one clock reading when it returns, and only if it failed.
	state atomic.Int64
}

// endedBit in taskCtx.state marks a task that returned.
const endedBit = 1 << 62

// realCtx is the materialised context and the function that cancels it,
// with the pool's core. It lives apart from taskCtx, which every task with
// a cancellable ctx allocates, so that a task that never materialises pays
// for neither. A realCtx with a nil Context is a pool's unbuilt sentinel.
type realCtx struct {
	context.Context
	cancel context.CancelCauseFunc
	core   *core
}

func newTaskCtx(parent context.Context, c *core, due time.Duration) *taskCtx {
	tc := &taskCtx{parent: parent}
	tc.init(c, due)
	return tc
}

// init prepares a context whose parent is set, for a task of the pool of c
// whose TaskTimeout passes at due (0 without one).
func (c *taskCtx) init(pc *core, due time.Duration) {
	c.real.Store(&pc.unbuilt)
	c.state.Store(int64(due))
}

// built returns the materialised context, or nil.
func (c *taskCtx) built() *realCtx {
	if r := c.real.Load(); r.Context != nil {
		return r
	}
	return nil
}

// due returns when TaskTimeout passes, 0 without one.
func (c *taskCtx) due() time.Duration { return time.Duration(c.state.Load() &^ endedBit) }

// ended reports whether the task returned.
func (c *taskCtx) ended() bool { return c.state.Load()&endedBit != 0 }

// Deadline returns the earlier of the submitter's deadline and TaskTimeout's.
func (c *taskCtx) Deadline() (time.Time, bool) {
	d, ok := c.parent.Deadline()
	if c.due() != 0 {
		if due := c.deadline(); !ok || due.Before(d) {
			return due, true
		}
	}
	return d, ok
}

// deadline is when TaskTimeout passes.
func (c *taskCtx) deadline() time.Time { return c.real.Load().core.epoch.Add(c.due()) }

// passed reports whether the deadline has passed while no real context
// was built. Whoever finds it so builds one, which WithDeadlineCause builds
// ended, as TaskTimeout's context would have ended at due: with
// context.DeadlineExceeded and errDeadline, unless the submitter's ctx
// ended first.
func (c *taskCtx) passed() bool {
	due := c.due()
	if due == 0 {
		return false
	}
	r := c.real.Load()
	return r.Context == nil && r.core.clock() >= due
}

// Done returns a channel closed when the context ends. The first call
// builds the real context.
func (c *taskCtx) Done() <-chan struct{} { return c.materialise().Done() }

// Err reports why the context ended, or nil.
func (c *taskCtx) Err() error {
	if r := c.built(); r != nil {
		return r.Err()
	}
	if c.ended() || c.passed() {
		return c.materialise().Err()
	}
	return c.parent.Err()
}

// Value returns the pool's mark for nested calls, or what the submitter's
// ctx holds for key (through the real context, once built, so that
// context.Cause finds the cause the pool gave).
func (c *taskCtx) Value(key any) any {
	if key == (poolKey{}) {
		return c.real.Load().core
	}
	if r := c.built(); r != nil {
		return r.Value(key)
	}
	if c.ended() || c.passed() {
		return c.materialise().Value(key)
	}
	return c.parent.Value(key)
}

// materialise builds the real context if it is not built yet, and returns
// it. Two goroutines that build it at once both build one; the first to
// store its own wins, and the other cancels its own, which unregisters it
// from the parent.
func (c *taskCtx) materialise() context.Context {
	r := c.real.Load()
	if r.Context != nil {
		return r.Context
	}
	st := c.state.Load()
	parent := c.parent
	if st&endedBit != 0 {
		// The task returned before anyone looked: its context ended then,
		// as context.Canceled, whatever its parent did since.
		parent = context.WithoutCancel(parent)
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, poolKey{}, r.core))
	if due := time.Duration(st &^ endedBit); due != 0 && st&endedBit == 0 {
		// It ends at the deadline, or at once if built past it, as
		// TaskTimeout's context does: context.DeadlineExceeded, errDeadline.
		var stop context.CancelFunc
		ctx, stop = context.WithDeadlineCause(ctx, r.core.epoch.Add(due), errDeadline)
		cancelParent := cancel
		cancel = func(cause error) { cancelParent(cause); stop() }
	}
	if !c.real.CompareAndSwap(r, &realCtx{ctx, cancel, r.core}) {
		cancel(nil)
		return c.real.Load().Context
	}
	if c.ended() { // see finish
		cancel(nil)
	}
	return ctx
}

// expire ends the context at its deadline if that has passed and nothing
// ended it yet: the hung watchdog calls it when the deadline passes with
// the task still running, as a timer of context.WithDeadline would, so that
// a task that never looks at its ctx and returns later leaves a kept ctx
// that reports context.DeadlineExceeded, whatever the task returned.
func (c *taskCtx) expire() {
	if !c.ended() && c.passed() {
		c.materialise()
	}
}

// end cancels the context with cause (context.Canceled when nil), building
// the real context first so that Err, Done and context.Cause agree.
func (c *taskCtx) end(cause error) {
	c.materialise()
	c.built().cancel(cause)
}

// finish ends the context of a task that returned, and reports whether it
// ended at its deadline before anything else ended it: the task timed out.
// failed says whether the task returned an error; only then does a timeout
// change its outcome, so only then does finish read the clock to look for
// a deadline passed unseen. A task that succeeded needs no reading: if it
// ran past its deadline, the hung watchdog ended its context then (see
// expire), so that a kept ctx reports context.DeadlineExceeded; one that
// returned in time leaves a kept ctx that reports context.Canceled.
//
// Without a real context built, nothing waits on it: finish only marks it
// ended, and a handler that kept its ctx past its return finds it
// cancelled when it looks. ended is stored before real is loaded, and
// materialise stores real before it loads ended, so one of the two cancels
// the real context if one is built.
func (c *taskCtx) finish(failed bool) (expired bool) {
	if failed && c.passed() {
		c.materialise() // ended at its deadline, before the task returned
	}
	c.state.Or(endedBit)
	if r := c.built(); r != nil {
		expired = c.due() != 0 && context.Cause(r.Context) == errDeadline
		r.cancel(nil)
	}
	return expired
}
