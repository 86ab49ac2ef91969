package messaging

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrClosed is returned by Send, TrySend and Publish after Close, and by Recv
// once a closed port has been drained.
var ErrClosed = errors.New("messaging: closed")

// ErrFull is returned by TrySend when the port is full under the Block or
// Fail policy, and by Send under the Fail policy.
var ErrFull = errors.New("messaging: port full")

// ErrNoResponder is returned by Request when no responder will ever answer:
// the port was closed, or the responder declined or dropped the envelope.
var ErrNoResponder = errors.New("messaging: no responder")

// ErrAlreadyReplied is returned by Envelope.Reply and Envelope.Decline when
// the envelope was already answered; the first answer stands.
var ErrAlreadyReplied = errors.New("messaging: already replied")

// Policy says what a port does with a message sent while its buffer is full.
// The zero value is Block.
type Policy int

const (
	// Block makes Send wait, bounded by its ctx, until there is room.
	// TrySend returns ErrFull.
	Block Policy = iota
	// Fail makes Send and TrySend return ErrFull at once.
	Fail
	// DropOldest discards the oldest buffered message to make room for the
	// new one. Send and TrySend return nil; the drop is counted.
	DropOldest
	// DropNewest discards the message being sent and keeps the buffer as it
	// is. Send and TrySend return nil; the drop is counted.
	DropNewest
)

// String returns the policy's name, such as "DropOldest".
func (p Policy) String() string {
	switch p {
	case Block:
		return "Block"
	case Fail:
		return "Fail"
	case DropOldest:
		return "DropOldest"
	case DropNewest:
		return "DropNewest"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

func (p Policy) valid() bool { return p >= Block && p <= DropNewest }

// wrap adds the port's name to err when the port has one:
// `messaging: port "jobs": full`. Unnamed ports return the bare sentinel,
// which costs no allocation.
func wrap(name string, err error) error {
	if name == "" {
		return err
	}
	return describe("port "+strconv.Quote(name), nil, err)
}

// described is an error that reads as its own message and matches the errors
// it carries with errors.Is. It lets a message say "messaging" once, where
// wrapping with %w would repeat the prefix of the sentinel it wraps.
type described struct {
	msg  string
	errs []error
}

// Error returns the message.
func (d *described) Error() string { return d.msg }

// Unwrap returns the errors d matches.
func (d *described) Unwrap() []error { return d.errs }

// describe returns the error "messaging: what: cause" on one line, where
// cause loses the "messaging: " and the "port " it may begin with (what
// names the port already). It matches cause and, if not nil, kind.
func describe(what string, kind, cause error) error {
	rest := strings.TrimPrefix(cause.Error(), "messaging: ")
	if strings.HasPrefix(what, "port ") {
		rest = strings.TrimPrefix(rest, "port ")
	}
	errs := []error{cause}
	if kind != nil {
		errs = []error{kind, cause}
	}
	return &described{msg: "messaging: " + what + ": " + strings.ReplaceAll(rest, "\n", "; "), errs: errs}
}

func isClosed(err error) bool { return errors.Is(err, ErrClosed) }
