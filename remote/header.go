package remote

import (
	"encoding/binary"
	"time"
)

// Every crew message starts with a short prefix, so that the common path
// carries no NATS headers (which cost a parse on each side):
//
//	request: uvarint attempt, uvarint budget, uvarint heartbeat ms, byte len(codec), codec, payload
//	answer:  uvarint attempt, byte kind, payload
//	cancel:  uvarint attempt, the request's reply subject
//
// A request's budget is the milliseconds left before the caller's deadline
// (0: none), shifted left one bit, the low bit set when the caller may
// cancel the task before then (see cancelSubject).
//
// An answer that is an error also carries micro's error headers, so that
// the service's stats and other NATS clients see it as one.
const (
	kindValue     = 0 // payload: the task's result
	kindBeat      = 1 // no payload: the task is still queued or running
	kindBusy      = 2 // payload: why the member could not take the task
	kindTask      = 3 // payload: the task's error, a wire.Error
	kindTooLarge  = 4 // payload: which payload was over the limit
	kindUndecoded = 5 // payload: why the request did not decode
)

// micro service error codes for the error kinds.
var errorCodes = [...]string{kindBusy: "503", kindTask: "500", kindTooLarge: "413", kindUndecoded: "400"}

// call is what a request's prefix says.
type call struct {
	attempt uint64
	// budget is how long the caller will still wait, so that a member
	// does not start a task whose caller has given up; 0 means no limit.
	budget time.Duration
	// cancellable says that the caller may send a cancel for the task.
	cancellable bool
	heartbeat   time.Duration
	codec       []byte
}

func appendCall(b []byte, attempt uint64, budget, heartbeat time.Duration, codec string) []byte {
	b = binary.AppendUvarint(b, attempt)
	b = binary.AppendUvarint(b, uint64(budget.Milliseconds())<<1)
	b = binary.AppendUvarint(b, uint64(heartbeat.Milliseconds()))
	b = append(b, byte(len(codec)))
	return append(b, codec...)
}

// parseCall splits a request into its call and payload.
func parseCall(b []byte) (call, []byte, bool) {
	var c call
	var k int
	if c.attempt, k = binary.Uvarint(b); k <= 0 {
		return c, nil, false
	}
	b = b[k:]
	budget, k := binary.Uvarint(b)
	if k <= 0 || budget>>1 > uint64(365*24*time.Hour/time.Millisecond) {
		return c, nil, false
	}
	c.budget = time.Duration(budget>>1) * time.Millisecond
	c.cancellable = budget&1 == 1
	b = b[k:]
	ms, k := binary.Uvarint(b)
	if k <= 0 || ms > uint64(time.Hour.Milliseconds()) || len(b) <= k {
		return c, nil, false
	}
	c.heartbeat = time.Duration(ms) * time.Millisecond
	b = b[k:]
	n := int(b[0])
	if len(b) < 1+n {
		return c, nil, false
	}
	c.codec = b[1 : 1+n]
	return c, b[1+n:], true
}

func appendAnswer(b []byte, attempt uint64, kind byte) []byte {
	return append(binary.AppendUvarint(b, attempt), kind)
}

// parseAnswer splits an answer into its attempt, kind and payload.
func parseAnswer(b []byte) (uint64, byte, []byte, bool) {
	attempt, k := binary.Uvarint(b)
	if k <= 0 || len(b) <= k {
		return 0, 0, nil, false
	}
	return attempt, b[k], b[k+1:], true
}

// cancelSubject is where a caller sends the cancel of a task whose ctx
// ended before its answer came. Every member of the service listens on it
// (not in a queue group: the caller does not know which member took the
// task), and the one holding the task ends its ctx.
func cancelSubject(service string) string { return "crew.cancel." + service }

// taskKey names a task on a member: its caller's reply subject (an inbox
// unique to one caller worker) and the caller's attempt number.
type taskKey struct {
	reply   string
	attempt uint64
}

func appendCancel(b []byte, attempt uint64, reply string) []byte {
	return append(binary.AppendUvarint(b, attempt), reply...)
}

// parseCancel reads a cancel message.
func parseCancel(b []byte) (taskKey, bool) {
	attempt, k := binary.Uvarint(b)
	if k <= 0 || len(b) == k {
		return taskKey{}, false
	}
	return taskKey{reply: string(b[k:]), attempt: attempt}, true
}
