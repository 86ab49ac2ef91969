package proc

import (
	"encoding/json"
	"fmt"
)

// protocolVersion is checked by both sides of the handshake.
const protocolVersion = 1

// Environment variables set for every child.
const (
	// envProtocol holds the protocol version; Serve refuses to run
	// without it, so that fds 3 to 5 are never misread.
	envProtocol = "CREW_PROC"
	// envRole holds the role given to Self.
	envRole = "CREW_PROC_ROLE"
)

// The child reads the handshake and tasks from fd 3, writes its answers
// to fd 4, and reads cancel requests from fd 5, so that the goroutine that
// runs tasks reads its next task itself, with no hand-off.
const (
	taskFD  = 3
	replyFD = 4
	ctrlFD  = 5
)

// Frame kinds. The parent sends hello, task and cancel; the child sends
// ready or refuse once, then one result, error or fatal per task.
const (
	kindHello  byte = 'H' // parent: protocol version, codec, worker ID (JSON)
	kindTask   byte = 'T' // parent: one task, ID is the task's
	kindCancel byte = 'C' // parent: the task with ID should stop
	kindReady  byte = 'R' // child: handshake accepted, worker built (JSON)
	kindRefuse byte = 'X' // child: handshake refused or factory failed (text)
	kindResult byte = 'O' // child: the task's result
	kindError  byte = 'E' // child: the task's error, a wire.Error
	kindFatal  byte = 'F' // child: the task's error, marked pool.Fatal
)

// hello is the parent's handshake.
type hello struct {
	Version int
	Codec   string
	Worker  int
	Pool    string
}

// ready is the child's answer to a hello it accepts.
type ready struct {
	Version int
	Codec   string
	PID     int
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("proc: marshal %T: %v", v, err)) // fixed types of plain fields
	}
	return b
}

// check reports a mismatch between the peer's version and codec and ours.
func check(version int, codec string, wantCodec string) error {
	if version != protocolVersion {
		return fmt.Errorf("%w: protocol version %d, want %d", ErrHandshake, version, protocolVersion)
	}
	if codec != wantCodec {
		return fmt.Errorf("%w: codec %q, want %q", ErrHandshake, codec, wantCodec)
	}
	return nil
}
