package remote

import (
	"strconv"
	"strings"
	"time"
)

// Headers crew adds to NATS messages.
const (
	// callHeader carries a request's attempt ID, the heartbeat interval
	// the caller expects in milliseconds, and the codec's name:
	// "<id> <heartbeat ms> <codec>".
	callHeader = "Crew-Call"
	// idHeader echoes the attempt ID on every message a member sends back.
	idHeader = "Crew-Id"
	// beatHeader marks a heartbeat: the task is still queued or running.
	beatHeader = "Crew-Beat"
)

// Service error codes a member answers with (micro's error code header).
const (
	codeBusy      = "503" // the member could not take the task: try another
	codeTask      = "500" // the task failed: the body is a wire.Error
	codeTooLarge  = "413" // the reply was over the payload limit
	codeUndecoded = "400" // the request could not be decoded
)

// call is what a member reads from callHeader.
type call struct {
	id        string
	heartbeat time.Duration
	codec     string
}

func (c call) String() string {
	return c.id + " " + strconv.FormatInt(c.heartbeat.Milliseconds(), 10) + " " + c.codec
}

func parseCall(s string) (call, bool) {
	id, rest, ok := strings.Cut(s, " ")
	if !ok {
		return call{}, false
	}
	ms, codec, ok := strings.Cut(rest, " ")
	if !ok {
		return call{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 {
		return call{}, false
	}
	return call{id: id, heartbeat: time.Duration(n) * time.Millisecond, codec: codec}, true
}
