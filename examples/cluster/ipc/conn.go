package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/wire"
)

// ErrVersion is the error of a Conn whose child announced a protocol
// version other than Version.
var ErrVersion = errors.New("ipc: unknown protocol version")

// Heartbeat is a child's latest answer to a heartbeat.
type Heartbeat struct {
	// Seq is the sequence number of the ping it answers, from 1; zero
	// before the first answer.
	Seq uint64
	// At is when the answer arrived.
	At time.Time
	// Report is the child's answer.
	Report Report
}

// Conn is the manager's end of one child's channel. Its methods are safe
// for concurrent use.
type Conn struct {
	*endpoint
	onMessage func(Message)
	hello     chan struct{} // closed when the Hello arrives
	seq       atomic.Uint64 // the last ping's sequence number

	mu    sync.Mutex
	hi    Hello
	beat  Heartbeat
	beats chan struct{} // closed and replaced by every answer
}

// NewConn starts the manager's end of a channel on r (from the child) and
// w (to it). onMessage, if not nil, receives the child's messages, one at
// a time, on the goroutine that reads r. Close closes r and w if they are
// io.Closers.
func NewConn(r io.Reader, w io.Writer, onMessage func(Message)) *Conn {
	c := &Conn{endpoint: newEndpoint(r, w), onMessage: onMessage, hello: make(chan struct{}), beats: make(chan struct{})}
	go c.read(c.handle)
	return c
}

// HelloDone returns a channel closed once the child's Hello has arrived
// with a known version: from then on the child answers heartbeats.
func (c *Conn) HelloDone() <-chan struct{} { return c.hello }

// Hello returns the child's Hello, and whether it has arrived.
func (c *Conn) Hello() (Hello, bool) {
	select {
	case <-c.hello:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.hi, true
	default:
		return Hello{}, false
	}
}

// Ping sends a heartbeat and returns its sequence number; the child's
// answer shows in Last. It blocks until the ping is written or ctx ends.
func (c *Conn) Ping(ctx context.Context) (uint64, error) {
	seq := c.seq.Add(1)
	return seq, c.write(ctx, kindPing, seq, struct{}{})
}

// Last returns the child's latest heartbeat answer, and a channel closed
// when a newer one arrives.
func (c *Conn) Last() (Heartbeat, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.beat, c.beats
}

// Send sends m to the child, where ChildOptions.OnMessage receives it. It
// blocks until m is written to the pipe or ctx ends, and returns ErrClosed
// once the channel is closed.
func (c *Conn) Send(ctx context.Context, m Message) error {
	return c.write(ctx, kindMessage, 0, m)
}

// Done returns a channel closed when the channel ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the channel and waits until its reading goroutine returns.
// It returns the error that ended the channel before, if any, such as
// ErrVersion or a frame that could not be read.
func (c *Conn) Close() error { return c.shutdown() }

func (c *Conn) handle(f wire.Frame) error {
	select {
	case <-c.hello:
	default:
		return c.greet(f)
	}
	switch f.Kind {
	case kindPong:
		var r Report
		if err := c.dec.Decode(f.Body, &r); err != nil {
			return err
		}
		c.mu.Lock()
		if f.ID > c.beat.Seq {
			c.beat = Heartbeat{Seq: f.ID, At: time.Now(), Report: r}
			close(c.beats)
			c.beats = make(chan struct{})
		}
		c.mu.Unlock()
	case kindMessage:
		var m Message
		if err := c.dec.Decode(f.Body, &m); err != nil {
			return err
		}
		if c.onMessage != nil {
			c.onMessage(m)
		}
	default:
		return fmt.Errorf("ipc: unexpected frame kind %d from the child", f.Kind)
	}
	return nil
}

// greet checks the child's first frame, its Hello.
func (c *Conn) greet(f wire.Frame) error {
	var h Hello
	if f.Kind != kindHello {
		return fmt.Errorf("ipc: the child's first frame is kind %d, not a hello", f.Kind)
	}
	if err := c.dec.Decode(f.Body, &h); err != nil {
		return err
	}
	if h.Version != Version {
		return fmt.Errorf("%w %d (this manager speaks %d)", ErrVersion, h.Version, Version)
	}
	c.mu.Lock()
	c.hi = h
	c.mu.Unlock()
	close(c.hello)
	return nil
}
