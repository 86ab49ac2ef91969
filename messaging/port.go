package messaging

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// DefaultCapacity is the buffer size of a port whose Options.Capacity is zero.
const DefaultCapacity = 64

// Options configures a Port or a Subscription. The zero value is a port with
// DefaultCapacity slots, the Block policy, no cloning, and no drop hook.
type Options[T any] struct {
	// Capacity is the number of messages the port buffers. Zero means
	// DefaultCapacity (64). Negative is a programmer error: NewPort panics.
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
type Port[T any] struct {
	ch       chan T
	done     chan struct{} // closed by Close: wakes blocked senders
	idle     chan struct{} // signalled when the last sender leaves a closed port
	clone    func(T) T
	onDrop   func(T)
	name     string
	policy   Policy
	declines bool // T is a request envelope: dropped ones are declined
	once     sync.Once

	_        [64]byte // keep the sender-written words off the read-only ones
	state    portState
	evicted  atomic.Uint64
	rejected atomic.Uint64
}

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
		ch:       make(chan T, capacity),
		done:     make(chan struct{}),
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
	_, err := p.offer(ctx, msg, true)
	return err
}

// TrySend is Send without waiting: it returns ErrFull at once when the port
// is full under Block or Fail. Drop policies drop as Send does.
func (p *Port[T]) TrySend(msg T) error {
	_, err := p.offer(context.Background(), msg, false)
	return err
}

// Recv returns the next message, waiting until one arrives, the port is
// closed and drained (ErrClosed), or ctx ends (ctx.Err()). A message that is
// already buffered is returned even if ctx has ended.
func (p *Port[T]) Recv(ctx context.Context) (T, error) {
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
func (p *Port[T]) C() <-chan T { return p.ch }

// Close closes the port and always returns nil. Blocked and later senders
// get ErrClosed; receivers drain the buffered messages, then get ErrClosed.
// Close waits only for senders already inside Send to leave, which they do
// without waiting on anything else. It is idempotent and safe for concurrent
// use.
func (p *Port[T]) Close() error {
	p.once.Do(p.shutdown)
	return nil
}

func (p *Port[T]) shutdown() {
	inside := p.state.close()
	close(p.done)
	if inside {
		<-p.idle
	}
	close(p.ch)
}

// Len returns the number of buffered messages.
func (p *Port[T]) Len() int { return len(p.ch) }

// Cap returns the buffer size.
func (p *Port[T]) Cap() int { return cap(p.ch) }

// Stats returns a snapshot of the port's counters. It is cheap and safe for
// concurrent use; while messages are in flight the fields may disagree by
// the operations in progress. Received is derived from the other counters
// so that receiving costs nothing extra, and so includes receives through C.
func (p *Port[T]) Stats() PortStats {
	n := len(p.ch)
	evicted := p.evicted.Load()
	sent := p.state.sent()
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
		Cap:      cap(p.ch),
		Closed:   p.state.closed(),
	}
}

// String returns a short description of the port for logs.
func (p *Port[T]) String() string {
	return fmt.Sprintf("messaging.Port(%q, %d/%d, %v)", p.name, len(p.ch), cap(p.ch), p.policy)
}
