package pool

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrClosed is returned for work submitted after Close began, and
	// resolves queued tasks that Close had to cancel.
	ErrClosed = errors.New("pool: closed")
	// ErrQueueFull is returned by TrySubmit and TryGo when the queue has no
	// room.
	ErrQueueFull = errors.New("pool: queue full")
	// ErrPoolFailed resolves queued and new work once the restart policy
	// gave up: workers kept crashing or could not be built.
	ErrPoolFailed = errors.New("pool: failed")
	// ErrTimeout resolves a task that ran past Options.TaskTimeout. It is
	// joined with the task's own error when the task returned one.
	ErrTimeout = errors.New("pool: task timed out")
	// ErrShed is for a task to return, alone or wrapped, when it declines to
	// run because it waited in the queue past the point where its result
	// could still be used (a queue-delay budget, such as httpx's MaxWait).
	// Such a task counts in Stats.Canceled, not Failed: it never ran.
	ErrShed = errors.New("pool: shed")
)

// PanicError is the error of a task whose handler panicked. The worker that
// panicked is discarded and rebuilt by the factory.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the goroutine's stack at the panic, as debug.Stack formats it.
	Stack []byte
}

// Error returns the panic value and the first line of the stack trace's
// origin; the full stack is in Stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("pool: task panicked: %v", e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is sees
// through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// fatalError marks an error after which the worker must not be trusted.
type fatalError struct{ err error }

// Error returns the wrapped error's message.
func (f fatalError) Error() string { return f.err.Error() }

// Unwrap returns the wrapped error.
func (f fatalError) Unwrap() error { return f.err }

// Fatal marks err as fatal for the worker that returns it from Handle: the
// task fails with err (Fatal is transparent to errors.Is and errors.As), and
// the worker is discarded and rebuilt by the factory, counting against the
// restart policy. Fatal(nil) returns nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// IsFatal reports whether err, or an error it wraps, was marked by Fatal.
func IsFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f)
}

// CloseError is returned by Close when it could not drain the pool before its
// context ended. It matches the context's error with errors.Is.
type CloseError struct {
	// Cause is the error of the context passed to Close.
	Cause error
	// Canceled is the number of queued tasks that were resolved with
	// ErrClosed instead of running.
	Canceled int
	// Hung names the worker goroutines that were still running a task when
	// Close returned: their handlers ignored cancellation. Go cannot kill a
	// goroutine; they exit when their handlers return.
	Hung []string
}

// Error summarises what Close had to cancel and what did not stop.
func (e *CloseError) Error() string {
	var b strings.Builder
	b.WriteString("pool: close")
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %v: %d queued task(s) canceled", e.Cause, e.Canceled)
	}
	if len(e.Hung) > 0 {
		fmt.Fprintf(&b, ": %d worker(s) ignored cancellation: %s", len(e.Hung), strings.Join(e.Hung, ", "))
	}
	return b.String()
}

// Unwrap returns Cause.
func (e *CloseError) Unwrap() error { return e.Cause }

// described is an error that reads as its own message and matches the errors
// it carries with errors.Is and errors.As. It lets a message name the pool
// once, where wrapping with %w would repeat the "pool: " its cause begins
// with (`pool "thumbs": pool: queue full`).
type described struct {
	msg  string
	errs []error
}

// Error returns the message.
func (d *described) Error() string { return d.msg }

// Unwrap returns the errors d matches.
func (d *described) Unwrap() []error { return d.errs }

// head is how errors about the pool called name begin: "pool" for the
// default name, `pool "name"` for any other.
func head(name string) string {
	if name == "" || name == "pool" {
		return "pool"
	}
	return "pool " + strconv.Quote(name)
}

// describe returns the error who: what: cause on one line, where who is a
// head or empty, what may be empty, and cause loses the "pool: " or who: it
// begins with, so that each is said once. The result matches cause and, if
// not nil, kind. A cause that already begins with who: is returned as it is
// when there is nothing to add, which costs no allocation.
func describe(who, what string, kind, cause error) error {
	msg := cause.Error()
	if what == "" && kind == nil && who != "" && strings.HasPrefix(msg, who+": ") {
		return cause // ErrQueueFull of the default pool reads as it should
	}
	rest, ok := strings.CutPrefix(msg, who+": ")
	if !ok {
		rest = strings.TrimPrefix(msg, "pool: ")
	}
	var b strings.Builder
	for _, part := range []string{who, what, strings.ReplaceAll(rest, "\n", "; ")} {
		if part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(part)
	}
	errs := []error{cause}
	if kind != nil {
		errs = []error{kind, cause}
	}
	return &described{msg: b.String(), errs: errs}
}
