package pool

import (
	"context"
	"sync"
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
	core   *core
	// real is the materialised context, once Done was called or the pool
	// ended the context; every method defers to it from then on.
	real atomic.Pointer[realCtx]
	mu   sync.Mutex // serialises materialisation
	// ended is set when the task returned: the context has ended, and a
	// real context built from now on is built cancelled.
	ended atomic.Bool
	// due is when TaskTimeout passes, as core.clock() reads it (zero
	// without one). Unlike context.WithTimeoutCause, no timer ends the
	// context then: whoever looks at it after due (Done, Err, Value, or the
	// pool once the task returned) builds the real context, which is built
	// ended (see passed). A task that never calls Done pays for two clock
	// readings when it returns.
	due time.Duration
}

// realCtx is the materialised context and the function that cancels it.
// It lives apart from taskCtx, which every task with a cancellable ctx
// allocates, so that a task that never materialises pays for neither.
type realCtx struct {
	context.Context
	cancel context.CancelCauseFunc
}

func newTaskCtx(parent context.Context, c *core) *taskCtx {
	return &taskCtx{parent: parent, core: c}
}

// Deadline returns the earlier of the submitter's deadline and TaskTimeout's.
func (c *taskCtx) Deadline() (time.Time, bool) {
	d, ok := c.parent.Deadline()
	if c.due != 0 {
		if due := c.deadline(); !ok || due.Before(d) {
			return due, true
		}
	}
	return d, ok
}

// deadline is when TaskTimeout passes.
func (c *taskCtx) deadline() time.Time { return c.core.epoch.Add(c.due) }

// passed reports whether the deadline has passed while no real context
// was built. Whoever finds it so builds one, which WithDeadlineCause builds
// ended, as TaskTimeout's context would have ended at due: with
// context.DeadlineExceeded and errDeadline, unless the submitter's ctx
// ended first.
func (c *taskCtx) passed() bool {
	return c.due != 0 && c.real.Load() == nil && c.core.clock() >= c.due
}

// expired reports whether the context ended at its deadline, before
// anything else ended it. The pool asks once the task returned.
func (c *taskCtx) expired() bool {
	if c.due == 0 {
		return false
	}
	if c.passed() {
		c.materialise()
	}
	return c.real.Load() != nil && context.Cause(c) == errDeadline
}

// Done returns a channel closed when the context ends. The first call
// builds the real context.
func (c *taskCtx) Done() <-chan struct{} { return c.materialise().Done() }

// Err reports why the context ended, or nil.
func (c *taskCtx) Err() error {
	if r := c.real.Load(); r != nil {
		return r.Err()
	}
	if c.ended.Load() || c.passed() {
		return c.materialise().Err()
	}
	return c.parent.Err()
}

// Value returns the pool's mark for nested calls, or what the submitter's
// ctx holds for key (through the real context, once built, so that
// context.Cause finds the cause the pool gave).
func (c *taskCtx) Value(key any) any {
	if key == (poolKey{}) {
		return c.core
	}
	if r := c.real.Load(); r != nil {
		return r.Value(key)
	}
	if c.ended.Load() || c.passed() {
		return c.materialise().Value(key)
	}
	return c.parent.Value(key)
}

// materialise builds the real context if it is not built yet, and returns
// it.
func (c *taskCtx) materialise() context.Context {
	if r := c.real.Load(); r != nil {
		return r.Context
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.real.Load(); r != nil {
		return r.Context
	}
	parent := c.parent
	if c.ended.Load() {
		// The task returned before anyone looked: its context ended then,
		// as context.Canceled, whatever its parent did since.
		parent = context.WithoutCancel(parent)
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(parent, poolKey{}, c.core))
	if c.due != 0 && !c.ended.Load() {
		// It ends at the deadline, or at once if built past it, as
		// TaskTimeout's context does: context.DeadlineExceeded, errDeadline.
		var stop context.CancelFunc
		ctx, stop = context.WithDeadlineCause(ctx, c.deadline(), errDeadline)
		cancelParent := cancel
		cancel = func(cause error) { cancelParent(cause); stop() }
	}
	c.real.Store(&realCtx{ctx, cancel})
	if c.ended.Load() { // see finish
		cancel(nil)
	}
	return ctx
}

// end cancels the context with cause (context.Canceled when nil), building
// the real context first so that Err, Done and context.Cause agree.
func (c *taskCtx) end(cause error) {
	c.materialise()
	c.real.Load().cancel(cause)
}

// finish ends the context of a task that returned. Without a real context
// built, nothing waits on it: finish only marks it ended, and a handler that
// kept its ctx past its return finds it cancelled when it looks. ended is
// stored before real is loaded, and materialise stores real before it loads
// ended, so one of the two cancels the real context if one is built.
func (c *taskCtx) finish() {
	if c.passed() {
		c.materialise() // ended at its deadline, before the task returned
	}
	c.ended.Store(true)
	if r := c.real.Load(); r != nil {
		r.cancel(nil)
	}
}
