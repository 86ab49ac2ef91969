package proc

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

var (
	// ErrExited is matched by the error of a task whose child died under
	// it: it exited, was killed by a signal (an out-of-memory kill
	// included), or was killed by the parent. The error is an *ExitError
	// with the details.
	ErrExited = errors.New("proc: child exited")
	// ErrUnresponsive is matched by the error of a task whose ctx ended and
	// whose child did not answer within Options.Grace: the child was
	// killed.
	ErrUnresponsive = errors.New("proc: child ignored cancellation")
	// ErrProtocol is matched by the error of a task whose child broke the
	// protocol: garbage on the pipe, a frame it must not send, a second
	// answer to a task, or a reply the codec cannot decode. The child was
	// killed.
	ErrProtocol = errors.New("proc: protocol violation")
	// ErrHandshake is matched by the error of a worker build whose child
	// did not complete its handshake: it exited first, timed out, spoke
	// another protocol version or codec, or its factory failed.
	ErrHandshake = errors.New("proc: handshake failed")
	// ErrEncode is matched by the error of a task whose input the codec
	// could not encode. Only that task fails; the child is unaffected.
	ErrEncode = errors.New("proc: cannot encode task")
	// ErrNotWorker is returned by Serve in a process that was not started
	// by Factory.
	ErrNotWorker = errors.New("proc: not started as a process worker")
)

// ExitError describes a child that is gone: why the parent gave up on it,
// how it ended and the last lines it wrote to stderr. It matches ErrExited
// with errors.Is, and also Reason's sentinel when there is one.
type ExitError struct {
	// Worker is the pool's ID of the worker the child served.
	Worker int
	// PID is the child's process ID.
	PID int
	// Reason is why the parent killed the child (ErrUnresponsive or
	// ErrProtocol, with details), or nil when the child ended on its own.
	Reason error
	// Code is the exit status, or -1 when a signal ended the child.
	Code int
	// Signal is the signal that ended the child, or 0.
	Signal syscall.Signal
	// Fatal is the last stderr line in which a Go child's runtime said why
	// it died ("fatal error: ..." or "panic: ..."), which the goroutine
	// dump after it may have pushed out of Stderr; empty if there was none.
	Fatal string
	// Stderr holds the child's last stderr lines, oldest first.
	Stderr []string
}

// Error says which child ended, why and how, on one line.
func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "proc: worker %d: child %d", e.Worker, e.PID)
	if e.Reason != nil {
		fmt.Fprintf(&b, ": %s", strings.TrimPrefix(e.Reason.Error(), "proc: "))
	}
	if e.Signal != 0 {
		fmt.Fprintf(&b, ": killed by signal %d (%v)", int(e.Signal), e.Signal)
	} else {
		fmt.Fprintf(&b, ": exited with status %d", e.Code)
	}
	if e.Fatal != "" {
		fmt.Fprintf(&b, ": %s", e.Fatal)
	}
	if len(e.Stderr) > 0 {
		fmt.Fprintf(&b, "; last stderr: %s", strings.Join(e.Stderr, " | "))
	}
	return b.String()
}

// Unwrap returns ErrExited and Reason.
func (e *ExitError) Unwrap() []error {
	if e.Reason == nil {
		return []error{ErrExited}
	}
	return []error{ErrExited, e.Reason}
}
