package remote

import "context"

type idempotentKey struct{}

// Idempotent marks the calls made with the returned ctx as safe to run
// twice: when their member is lost mid-task they are sent to another member
// (at-least-once), whatever Options.Idempotent says.
func Idempotent(ctx context.Context) context.Context { return mark(ctx, true) }

// AtMostOnce marks the calls made with the returned ctx as unsafe to run
// twice: when their member is lost mid-task they fail with ErrMemberLost
// (at-most-once), whatever Options.Idempotent says.
func AtMostOnce(ctx context.Context) context.Context { return mark(ctx, false) }

// marked carries the choice. A pool hands the caller's ctx, and so its
// values, to the worker only when the ctx can be cancelled; marked always
// can, with a Done channel that never closes when its parent has none.
type marked struct {
	context.Context
	key, val any
	done     <-chan struct{}
}

func withMark(ctx context.Context, key, val any) context.Context {
	m := &marked{Context: ctx, key: key, val: val, done: ctx.Done()}
	if m.done == nil {
		m.done = make(chan struct{})
	}
	return m
}

func mark(ctx context.Context, idempotent bool) context.Context {
	return withMark(ctx, idempotentKey{}, idempotent)
}

// Done returns the parent's Done channel, or one that never closes.
func (m *marked) Done() <-chan struct{} { return m.done }

// Value returns the mark for its key and asks the parent for the others.
func (m *marked) Value(key any) any {
	if key == m.key {
		return m.val
	}
	return m.Context.Value(key)
}

// idempotent reports the per-call choice, or def when there is none.
func idempotent(ctx context.Context, def bool) bool {
	if v, ok := ctx.Value(idempotentKey{}).(bool); ok {
		return v
	}
	return def
}
