package remote

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/crewkit/crew/wire"
)

// ErrDeadLetter means a durable task was delivered DurableOptions.MaxDeliver
// times without being acknowledged (each member that took it died or lost
// its connection first) and was moved to the service's dead-letter subject
// instead of being delivered again.
var ErrDeadLetter = errors.New("remote: task moved to the dead-letter subject")

// Answer kinds of durable mode only.
const (
	kindDead        = 6 // payload: why the task was dead-lettered
	kindRedelivered = 7 // payload: uvarint delivery count; the answer is still to come
)

// replyHeader names the inbox a durable task's answer goes to.
const replyHeader = "Crew-Reply"

// DurableOptions configures durable mode. Members own the stream and the
// consumer: they create or update them with these settings, so every member
// of a service must use the same ones. Callers use Codec and MaxPayload
// only. The zero value is valid.
type DurableOptions struct {
	// Codec encodes tasks and answers. Default wire.Gob.
	Codec wire.Codec
	// MaxPayload is the largest task or answer, in bytes. Default 0: the
	// connection's limit.
	MaxPayload int
	// AckWait is how long the server waits for a member's acknowledgement
	// before it delivers a task again. A member sends in-progress
	// acknowledgements every AckWait/3 while a task is queued or running,
	// so only a member that died (or lost its connection) lets it pass.
	// Default 30s.
	AckWait time.Duration
	// MaxDeliver is how many times a task is delivered before the member
	// that receives it next moves it to the dead-letter subject instead of
	// running it. Default 5.
	MaxDeliver int
	// DedupeWindow is how long the stream remembers task IDs: a task
	// published again with the same ID within it is dropped. Default 2m.
	DedupeWindow time.Duration
	// MaxPending bounds the tasks the stream holds; a publish past it
	// fails. Default 65536.
	MaxPending int64
	// MaxInFlight is how many tasks one member holds at once, queued in or
	// running on its pool. Default: the pool's MaxWorkers.
	MaxInFlight int
	// OnError, if set, receives the messages for the service's workers
	// (see Broadcast) that a member could not deliver. Members only.
	// Default: logged with log/slog.
	OnError func(error)
	// NoMembersWait is how long a call keeps publishing, with capped and
	// jittered backoff (1ms doubling to 100ms), while no member has created
	// the service's stream, before it fails with ErrNoMembers. Default
	// DefaultNoMembersWait (5s); a negative value fails at once. Callers
	// only.
	NoMembersWait time.Duration
	// OnEvent, if set, receives a NoResponders event for every publish
	// that found no stream, and a Redelivered event for every call whose
	// task a member received again (its member died, its ack was lost
	// past AckWait, or a member that stopped handed it back unstarted),
	// with the delivery count in Event.Attempt. Callers
	// only; it runs on the calling worker's goroutine and must not block.
	OnEvent func(Event)
}

var serviceName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (o DurableOptions) withDefaults(service string) (DurableOptions, error) {
	if !serviceName.MatchString(service) {
		return o, fmt.Errorf("remote: durable service name must match %s, got %q", serviceName, service)
	}
	switch {
	case o.AckWait < 0:
		return o, fmt.Errorf("remote: DurableOptions.AckWait must be >= 0, got %v", o.AckWait)
	case o.MaxDeliver < 0:
		return o, fmt.Errorf("remote: DurableOptions.MaxDeliver must be >= 0, got %d", o.MaxDeliver)
	case o.DedupeWindow < 0:
		return o, fmt.Errorf("remote: DurableOptions.DedupeWindow must be >= 0, got %v", o.DedupeWindow)
	case o.MaxPending < 0:
		return o, fmt.Errorf("remote: DurableOptions.MaxPending must be >= 0, got %d", o.MaxPending)
	case o.MaxInFlight < 0:
		return o, fmt.Errorf("remote: DurableOptions.MaxInFlight must be >= 0, got %d", o.MaxInFlight)
	case o.MaxPayload < 0:
		return o, fmt.Errorf("remote: DurableOptions.MaxPayload must be >= 0, got %d", o.MaxPayload)
	}
	if o.Codec == nil {
		o.Codec = wire.Gob
	}
	if o.AckWait == 0 {
		o.AckWait = 30 * time.Second
	}
	if o.MaxDeliver == 0 {
		o.MaxDeliver = 5
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = 2 * time.Minute
	}
	if o.MaxPending == 0 {
		o.MaxPending = 1 << 16
	}
	if o.NoMembersWait == 0 {
		o.NoMembersWait = DefaultNoMembersWait
	}
	return o, nil
}

// Names of a durable service's stream, subjects and consumer.
func tasksStream(service string) string  { return "CREW_TASKS_" + service }
func deadStream(service string) string   { return "CREW_DEAD_" + service }
func tasksSubject(service string) string { return "crew.tasks." + service }
func consumerName(service string) string { return "crew-members-" + service }

// DeadSubject returns the subject on which a durable service's dead-lettered
// tasks are published, each with its original payload and headers. Members
// keep them in a stream named CREW_DEAD_<service>.
func DeadSubject(service string) string { return "crew.dead." + service }
