package messaging

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/crewkit/crew/internal/ring"
)

// DefaultCapacity is the buffer size of a port whose Options.Capacity is zero.
const DefaultCapacity = 64

// MaxCapacity is the largest Options.Capacity a port accepts (2^30).
const MaxCapacity = ring.MaxCapacity

// Options configures a Port or a Subscription. The zero value is a port with
// DefaultCapacity slots, the Block policy, no cloning, and no drop hook.
type Options[T any] struct {
	// Capacity is the number of messages the port buffers. Zero means
	// DefaultCapacity (64). Negative, or above MaxCapacity, is a programmer
	// error: NewPort panics.
	Capacity int

	// Policy says what happens when a message is sent to a full port.
	// Zero means Block.
	Policy Policy

	// Clone, if set, is called on every message before it is buffered, so
	// that the receiver gets a copy the sender can no longer reach (Node's
	// structured clone). Nil means ownership transfer: the receiver gets the
	// sender's value, and the sender must not touch it again.
	Clone func(T) T

	// OnDrop, if set, is called with each message that DropOldest or
	// DropNewest discards, on the sender's goroutine, outside any lock.
	// Nil means dropped messages are only counted.
	OnDrop func(T)

	// Name identifies the port in errors and Stats. Empty means unnamed;
	// errors from an unnamed port are the bare sentinels.
	Name string
}

// PortStats is a snapshot of a port's counters.
type PortStats struct {
	// Name is the port's Options.Name.
	Name string
	// Sent counts messages accepted into the buffer.
	Sent uint64
	// Received counts messages taken out by Recv, TryRecv or C.
	Received uint64
	// Dropped counts messages discarded by DropOldest or DropNewest.
	Dropped uint64
	// Len is the number of buffered messages; Cap the buffer size.
	Len, Cap int
	// Closed reports whether Close was called.
	Closed bool
}

// Port is a typed, bounded, FIFO mailbox: the analogue of a Node MessagePort.
// Any number of goroutines may send and receive concurrently. Messages from
// one sender are received in the order that sender sent them.
//
// Sending to a closed port returns ErrClosed and never panics; receivers
// still get every message accepted before Close, then ErrClosed.
//
// Messages live in a lock-free ring buffer, cheaper than a channel, until
// the first call to C: from then on the port keeps them in a Go channel so
// that C can hand it out (see C).
type Port[T any] struct {
	ring     *ring.Ring[T]
	done     chan struct{} // closed by Close: wakes blocked senders
	lock     chan struct{} // a one-slot lock: serializes Close and the switch to a channel
	switched chan struct{} // closed once the switch to a channel is over
	idle     chan struct{} // signalled when the last sender leaves a closed port
	clone    func(T) T
	onDrop   func(T)
	name     string
	policy   Policy
	declines bool // T is a request envelope: dropped ones are declined

	_        [64]byte // keep the words written per message off the read-only ones
	mode     atomic.Uint32
	closed   atomic.Bool
	ch       chan T    // the buffer from the switch on; set before mode is chanMode
	state    portState // senders in channel mode
	evicted  atomic.Uint64
	rejected atomic.Uint64
}

// The port's transport: the ring until C is called, then a channel.
const (
	ringMode  = iota
	switching // C is moving the ring's messages into the channel
	chanMode
)

// NewPort returns an open port configured by opts. It panics if opts is
// invalid (a negative Capacity, an unknown Policy, or a Clone hook on a port
// of *Envelope), as make(chan T, -1) does; the message starts with
// "messaging:". A port starts no goroutine.
func NewPort[T any](opts Options[T]) *Port[T] {
	validate(opts.Capacity, opts.Policy)
	_, declines := any(*new(T)).(decliner)
	if declines && opts.Clone != nil {
		panic("messaging: Clone must be nil on a port of request envelopes")
	}
	capacity := opts.Capacity
	if capacity == 0 {
		capacity = DefaultCapacity
	}
	return &Port[T]{
		ring:     ring.New[T](capacity),
		done:     make(chan struct{}),
		lock:     make(chan struct{}, 1),
		switched: make(chan struct{}),
		idle:     make(chan struct{}, 1),
		clone:    opts.Clone,
		onDrop:   opts.OnDrop,
		name:     opts.Name,
		policy:   opts.Policy,
		declines: declines,
	}
}

func validate(capacity int, policy Policy) {
	if capacity < 0 {
		panic(fmt.Sprintf("messaging: Capacity must be >= 0, got %d", capacity))
	}
	if capacity > MaxCapacity {
		panic(fmt.Sprintf("messaging: Capacity must be <= MaxCapacity (%d), got %d", MaxCapacity, capacity))
	}
	if !policy.valid() {
		panic(fmt.Sprintf("messaging: unknown Policy %d", int(policy)))
	}
}

// Send delivers msg to the port. Under Block it waits while the port is full
// until there is room, the port is closed (ErrClosed) or ctx ends
// (ctx.Err()); under Fail it returns ErrFull; under DropOldest and DropNewest
// it drops a message, counts it, and returns nil. Send returns ErrClosed
// after Close and never panics, also when it races with Close.
func (p *Port[T]) Send(ctx context.Context, msg T) error {
	_, _, err := p.offer(ctx, msg, true)
	return err
}

// TrySend is Send without waiting: it returns ErrFull at once when the port
// is full under Block or Fail. Drop policies drop as Send does.
func (p *Port[T]) TrySend(msg T) error {
	_, _, err := p.offer(context.Background(), msg, false)
	return err
}

// Recv returns the next message, waiting until one arrives, the port is
// closed and drained (ErrClosed), or ctx ends (ctx.Err()). A message that is
// already buffered is returned even if ctx has ended.
func (p *Port[T]) Recv(ctx context.Context) (T, error) {
	switch p.mode.Load() {
	case ringMode:
		msg, st := p.ring.Pop(ctx.Done())
		switch {
		case st == ring.OK:
			return msg, nil
		case st == ring.Canceled:
			return msg, ctx.Err()
		case !p.toChannelNow(): // ring closed because the port closed
			return msg, wrap(p.name, ErrClosed)
		}
	case switching:
		<-p.switched
	}
	return p.recvChan(ctx)
}

// toChannelNow is called when the ring reports it is closed and drained. It
// reports whether that is because C switched the port to a channel, and if
// so, waits for the switch to finish.
func (p *Port[T]) toChannelNow() bool {
	if p.mode.Load() == ringMode {
		return false
	}
	<-p.switched
	return true
}

// recvChan is Recv in channel mode.
func (p *Port[T]) recvChan(ctx context.Context) (T, error) {
	done := ctx.Done()
	if done == nil {
		msg, ok := <-p.ch
		return p.received(msg, ok)
	}
	select {
	case msg, ok := <-p.ch:
		return p.received(msg, ok)
	default:
	}
	select {
	case msg, ok := <-p.ch:
		return p.received(msg, ok)
	case <-done:
		var zero T
		return zero, ctx.Err()
	}
}

func (p *Port[T]) received(msg T, ok bool) (T, error) {
	if !ok {
		return msg, wrap(p.name, ErrClosed)
	}
	return msg, nil
}

// TryRecv returns the next message without waiting. It reports false when
// the port is empty, or closed and drained. It is the analogue of Node's
// receiveMessageOnPort.
func (p *Port[T]) TryRecv() (T, bool) {
	switch p.mode.Load() {
	case ringMode:
		msg, st := p.ring.TryPop()
		if st == ring.OK {
			return msg, true
		}
		if st == ring.Empty || !p.toChannelNow() {
			return msg, false
		}
	case switching:
		<-p.switched
	}
	select {
	case msg, ok := <-p.ch:
		return msg, ok
	default:
		var zero T
		return zero, false
	}
}

// C returns the receive side of the port for use in select. The channel is
// closed once the port is closed and every accepted message was received.
//
// The first call moves the port's messages, in order, from its ring buffer
// into a channel that the port uses from then on; every receive method keeps
// working and sees the same stream. A port in channel mode costs about as
// much per message as a plain channel plus two atomic operations, more than
// the ring, so call C only on ports you select on.
func (p *Port[T]) C() <-chan T {
	if p.mode.Load() != chanMode {
		p.lock <- struct{}{}
		if p.mode.Load() == ringMode {
			p.toChannel()
		}
		<-p.lock
	}
	return p.ch
}

// toChannel moves the port to channel mode; the caller holds p.lock. Closing
// the ring turns away new ring sends, which wait for switched and go to the
// channel; the ring's messages move first, so the order is kept. The channel
// has the ring's capacity, so the move never waits.
func (p *Port[T]) toChannel() {
	ch := make(chan T, p.ring.Cap())
	p.mode.Store(switching)
	// Seal, not Close and TryPop: a Recv racing with the move must not take
	// a message from the ring while older ones are on their way to ch.
	p.ring.Seal(func(msg T) { ch <- msg })
	p.ch = ch
	if p.closed.Load() {
		p.state.close() // no sender can be inside: they all saw the ring closed
		close(ch)
	}
	p.mode.Store(chanMode)
	close(p.switched)
}

// Close closes the port and always returns nil. Blocked and later senders
// get ErrClosed; receivers drain the buffered messages, then get ErrClosed.
// Close waits only for senders already inside Send to leave, which they do
// without waiting on anything else. It is idempotent and safe for concurrent
// use.
func (p *Port[T]) Close() error {
	p.lock <- struct{}{}
	defer func() { <-p.lock }()
	if p.closed.Swap(true) {
		return nil
	}
	close(p.done)
	if p.mode.Load() == ringMode {
		p.ring.Close()
		return nil
	}
	if p.state.close() {
		<-p.idle
	}
	close(p.ch)
	return nil
}

// Len returns the number of buffered messages. During the switch to a
// channel, which does not block, it waits for the switch.
func (p *Port[T]) Len() int {
	if p.mode.Load() == ringMode {
		n := p.ring.Len()
		if p.mode.Load() == ringMode {
			return n
		}
	}
	<-p.switched
	return len(p.ch)
}

// Cap returns the buffer size.
func (p *Port[T]) Cap() int { return p.ring.Cap() }

// Stats returns a snapshot of the port's counters. It is cheap and safe for
// concurrent use; while messages are in flight the fields may disagree by
// the operations in progress. Received is derived from the other counters
// so that receiving costs nothing extra, and so includes receives through C.
func (p *Port[T]) Stats() PortStats {
	n := p.Len()
	evicted := p.evicted.Load()
	sent := p.ring.Pushed() + p.state.sent()
	var received uint64
	if out := evicted + uint64(n); sent > out {
		received = sent - out
	}
	return PortStats{
		Name:     p.name,
		Sent:     sent,
		Received: received,
		Dropped:  evicted + p.rejected.Load(),
		Len:      n,
		Cap:      p.Cap(),
		Closed:   p.closed.Load(),
	}
}

// String returns a short description of the port for logs.
func (p *Port[T]) String() string {
	return fmt.Sprintf("messaging.Port(%q, %d/%d, %v)", p.name, p.Len(), p.Cap(), p.policy)
}
