package ipc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/crewkit/crew/pool"
)

// EnvVar names the environment variable that tells a child which file
// descriptors carry its channel: "3,4", the one it reads from, then the one
// it writes to.
const EnvVar = "CREW_IPC"

// Version is the protocol version a child announces in its Hello.
const Version = 1

// MaxFrame bounds one frame's body in both directions: 1 MiB.
const MaxFrame = 1 << 20

// The kinds of frame on the channel.
const (
	kindHello   byte = 1 // child to manager, first: Hello
	kindPing    byte = 2 // manager to child: heartbeat, ID is its sequence number
	kindPong    byte = 3 // child to manager: Report, ID answers a ping
	kindMessage byte = 4 // either way: Message
)

// ErrClosed is returned by Send once the channel is closed or its peer is
// gone.
var ErrClosed = errors.New("ipc: channel closed")

// Hello is a child's first frame.
type Hello struct {
	Version int `json:"version"`
	PID     int `json:"pid"`
}

// Message is one application message, in either direction. Type says what
// it means; Data is its JSON payload.
type Message struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// NewMessage returns a message of type typ whose Data is data's JSON
// encoding.
func NewMessage(typ string, data any) (Message, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Message{}, fmt.Errorf("ipc: message %q: %w", typ, err)
	}
	return Message{Type: typ, Data: b}, nil
}

// Decode decodes m's Data into the value v points to.
func (m Message) Decode(v any) error {
	if err := json.Unmarshal(m.Data, v); err != nil {
		return fmt.Errorf("ipc: message %q: %w", m.Type, err)
	}
	return nil
}

// TypeLogLevel is the type of a message whose Data is a log level name
// ("debug", "info", "warn" or "error", as slog.Level parses it); a Child
// with ChildOptions.Level applies it.
const TypeLogLevel = "log-level"

// LogLevel returns the message that sets a child's log level to l.
func LogLevel(l slog.Level) Message {
	m, _ := NewMessage(TypeLogLevel, l.String()) // a string always encodes
	return m
}

// Report is a child's answer to a heartbeat.
type Report struct {
	// Ready is the child's own readiness: false while it cannot serve,
	// such as when its pool is closing or failed.
	Ready bool `json:"ready"`
	// Pool holds the child's pool stats; nil for a server without a pool.
	Pool *PoolStats `json:"pool,omitempty"`
	// LogLevel is the child's log level, set when ChildOptions.Level is.
	LogLevel string `json:"log_level,omitempty"`
	// RSS is the child's resident memory in bytes, from /proc; zero where
	// /proc is missing.
	RSS int64 `json:"rss_bytes"`
	// Heap is the Go heap's live and not yet swept objects, in bytes.
	Heap int64 `json:"heap_bytes"`
	// Goroutines is the number of goroutines in the child.
	Goroutines int `json:"goroutines"`
}

// PoolStats is the part of a pool's stats a heartbeat carries.
type PoolStats struct {
	State     string `json:"state"`
	Workers   int    `json:"workers"`
	Busy      int    `json:"busy"`
	Max       int    `json:"max"`
	Queued    int    `json:"queued"`
	QueueCap  int    `json:"queue_cap"`
	Submitted uint64 `json:"submitted"`
	Completed uint64 `json:"completed"`
	Failed    uint64 `json:"failed"`
	Rejected  uint64 `json:"rejected"`
	Restarts  uint64 `json:"restarts"`
}

// PoolOf returns the heartbeat's view of s.
func PoolOf(s pool.Stats) *PoolStats {
	return &PoolStats{
		State: s.State, Workers: s.Workers, Busy: s.Busy, Max: s.Max, Queued: s.Queued, QueueCap: s.QueueCap,
		Submitted: s.Submitted, Completed: s.Completed, Failed: s.Failed, Rejected: s.Rejected, Restarts: s.Restarts,
	}
}
