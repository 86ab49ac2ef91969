package remote

import (
	"fmt"
	"time"

	"github.com/crewkit/crew/wire"
)

// DefaultNoMembersWait is how long a call waits for a member to serve its
// service unless Options.NoMembersWait says otherwise.
const DefaultNoMembersWait = 5 * time.Second

// Options configures the caller side: the workers that Factory builds. The
// zero value is valid.
type Options struct {
	// Codec encodes requests and decodes replies; members must use the same
	// one. Default wire.Gob.
	Codec wire.Codec
	// MaxPayload is the largest request sent, in bytes; a larger one fails
	// with ErrTooLarge before it is sent. Default 0: the connection's limit
	// (the server's max_payload).
	MaxPayload int
	// Heartbeat is how often a member reports that a task of this caller
	// is still queued or running. Default 1s.
	Heartbeat time.Duration
	// LostAfter is how long a call waits without a reply or a heartbeat
	// before it declares its member lost. Default 3 x Heartbeat.
	LostAfter time.Duration
	// Idempotent says what a call does when its member is lost mid-task:
	// false (the default) fails it with ErrMemberLost, so the task runs at
	// most once; true sends it again, so it runs at least once. Idempotent
	// and AtMostOnce override it for one call.
	Idempotent bool
	// Backoff is the first wait after every member answered busy; it
	// doubles on each busy answer, with jitter. Default 1ms.
	Backoff time.Duration
	// MaxBackoff caps the wait between busy retries. Default 100ms.
	MaxBackoff time.Duration
	// NoMembersWait is how long a call keeps sending, with the same capped
	// and jittered backoff as after busy answers, while NATS answers that
	// no member serves the service, before it fails with ErrNoMembers: the
	// time a member may take to start or restart. Default
	// DefaultNoMembersWait (5s); a negative value fails the call at the
	// first such answer. The caller's ctx ends the wait at once.
	NoMembersWait time.Duration
	// OnEvent, if set, receives the retries and losses of every call. It
	// runs on the calling worker's goroutine and must not block.
	OnEvent func(Event)
}

func (o Options) withDefaults() (Options, error) {
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"Heartbeat", o.Heartbeat}, {"LostAfter", o.LostAfter}, {"Backoff", o.Backoff},
		{"MaxBackoff", o.MaxBackoff}} {
		if f.v < 0 {
			return o, fmt.Errorf("remote: Options.%s must be >= 0, got %v", f.name, f.v)
		}
	}
	if o.MaxPayload < 0 {
		return o, fmt.Errorf("remote: Options.MaxPayload must be >= 0, got %d", o.MaxPayload)
	}
	if o.Codec == nil {
		o.Codec = wire.Gob
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = time.Second
	}
	if o.Heartbeat < time.Millisecond {
		return o, fmt.Errorf("remote: Options.Heartbeat must be >= 1ms, got %v", o.Heartbeat)
	}
	if o.LostAfter == 0 {
		o.LostAfter = 3 * o.Heartbeat
	}
	if o.LostAfter <= o.Heartbeat {
		return o, fmt.Errorf("remote: Options.LostAfter (%v) must exceed Heartbeat (%v)", o.LostAfter, o.Heartbeat)
	}
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = o.Backoff
	}
	if o.NoMembersWait == 0 {
		o.NoMembersWait = DefaultNoMembersWait
	}
	return o, nil
}

// EventKind says what happened to a call.
type EventKind int

const (
	// Busy: a member could not take the task; it will be sent again.
	Busy EventKind = iota + 1
	// NoResponders: no member serves the service.
	NoResponders
	// Lost: the member went silent for LostAfter mid-task.
	Lost
	// Resent: a lost task of an idempotent call was sent again.
	Resent
	// Redelivered: in durable mode, a member received the call's task
	// again, after the member that had it died, its ack was lost, or a
	// member that stopped handed it back unstarted; Attempt is the
	// delivery count.
	Redelivered
)

var eventNames = [...]string{"", "busy", "no responders", "lost", "resent", "redelivered"}

// String returns the kind's name.
func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventNames) {
		return fmt.Sprintf("EventKind(%d)", int(k))
	}
	return eventNames[k]
}

// Event reports a retry, a loss or a redelivery on one call.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Service is the service the call went to.
	Service string
	// Attempt counts the sends of this call so far, starting at 1.
	Attempt int
}
