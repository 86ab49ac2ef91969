package wire

import (
	"context"
	"errors"
	"fmt"

	"github.com/crewkit/crew/pool"
)

// Error kinds: what an error was on the side that produced it.
const (
	KindOther      = ""
	KindPanic      = "panic"
	KindTimeout    = "timeout"
	KindPoolFailed = "pool_failed"
	KindClosed     = "closed"
	KindQueueFull  = "queue_full"
	KindShed       = "shed"
	KindCanceled   = "canceled"
	KindDeadline   = "deadline"
)

// Error is an error as it crosses a boundary: its kind, its message and,
// for a panic, the stack. Its fields are exported so that any codec can
// carry it.
type Error struct {
	// Kind is one of the Kind constants.
	Kind string
	// Msg is the original error's message; for a panic, the panic value's
	// text.
	Msg string
	// Stack is a panicking goroutine's stack; empty otherwise.
	Stack []byte `json:",omitempty"`
}

// FromError describes err for the wire; nil gives nil. The kind is the
// first of the known errors that err matches with errors.Is or errors.As.
func FromError(err error) *Error {
	if err == nil {
		return nil
	}
	e := &Error{Msg: err.Error()}
	var pe *pool.PanicError
	switch {
	case errors.As(err, &pe):
		e.Kind, e.Msg, e.Stack = KindPanic, fmt.Sprint(pe.Value), pe.Stack
	case errors.Is(err, pool.ErrTimeout):
		e.Kind = KindTimeout
	case errors.Is(err, pool.ErrPoolFailed):
		e.Kind = KindPoolFailed
	case errors.Is(err, pool.ErrClosed):
		e.Kind = KindClosed
	case errors.Is(err, pool.ErrQueueFull):
		e.Kind = KindQueueFull
	case errors.Is(err, pool.ErrShed):
		e.Kind = KindShed
	case errors.Is(err, context.Canceled):
		e.Kind = KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindDeadline
	}
	return e
}

// Err returns an error that errors.Is and errors.As test as the original
// kind, with the original message; nil gives nil. A panic comes back as a
// *pool.PanicError whose Value is a RemoteValue holding the panic's text.
func (e *Error) Err() error {
	if e == nil {
		return nil
	}
	if e.Kind == KindPanic {
		return &pool.PanicError{Value: RemoteValue(e.Msg), Stack: e.Stack}
	}
	return &remoteError{msg: e.Msg, kind: sentinel(e.Kind)}
}

// RemoteValue is the value of a panic that happened on the other side of a
// boundary: the text of the original panic error.
type RemoteValue string

// String returns the text.
func (v RemoteValue) String() string { return string(v) }

func sentinel(kind string) error {
	switch kind {
	case KindTimeout:
		return pool.ErrTimeout
	case KindPoolFailed:
		return pool.ErrPoolFailed
	case KindClosed:
		return pool.ErrClosed
	case KindQueueFull:
		return pool.ErrQueueFull
	case KindShed:
		return pool.ErrShed
	case KindCanceled:
		return context.Canceled
	case KindDeadline:
		return context.DeadlineExceeded
	}
	return nil
}

// remoteError keeps the remote message and unwraps to the sentinel of its
// kind, so errors.Is matches without the message repeating the sentinel's.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }
