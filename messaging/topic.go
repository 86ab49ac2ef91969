package messaging

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// TopicOptions configures a Topic. The zero value is an unnamed topic that
// hands every subscriber the published value itself.
type TopicOptions[T any] struct {
	// Name identifies the topic in errors and Stats. Empty means unnamed.
	Name string

	// Clone, if set, is the copy-on-publish hook of every subscriber whose
	// own Options.Clone is nil, so that subscribers never share a message.
	// Nil means subscribers share the published value and must treat it as
	// read-only.
	Clone func(T) T
}

// TopicStats is a snapshot of a topic's counters.
type TopicStats struct {
	// Name is the topic's TopicOptions.Name.
	Name string
	// Published counts calls to Publish on the open topic.
	Published uint64
	// Delivered counts messages buffered by subscribers.
	Delivered uint64
	// Dropped counts messages discarded by DropOldest or DropNewest
	// subscribers.
	Dropped uint64
	// Failed counts deliveries that did not happen: a full Fail subscriber,
	// or a full Block subscriber when Publish's ctx ended.
	Failed uint64
	// Subscribers is the number of current subscribers.
	Subscribers int
	// Closed reports whether Close was called.
	Closed bool
}

// Topic delivers each published message to every current subscriber: the
// analogue of Node's BroadcastChannel. Each subscriber has its own buffer
// and overflow policy, so a slow subscriber stalls Publish only if it chose
// Block, and then only until Publish's ctx ends. Topic is safe for
// concurrent use; Subscribe and Unsubscribe may run during Publish.
type Topic[T any] struct {
	name  string
	clone func(T) T

	mu     sync.Mutex // serialises changes to subs and closed
	subs   atomic.Pointer[[]*Subscription[T]]
	closed atomic.Bool

	published, delivered, dropped, failed atomic.Uint64
}

// Subscription receives a topic's messages from the moment it was made
// until Unsubscribe or the topic's Close. It is safe for concurrent use.
type Subscription[T any] struct {
	port  *Port[T]
	topic *Topic[T]
}

// NewTopic returns an open topic with no subscribers. It starts no
// goroutine.
func NewTopic[T any](opts TopicOptions[T]) *Topic[T] {
	t := &Topic[T]{name: opts.Name, clone: opts.Clone}
	t.subs.Store(new([]*Subscription[T]))
	return t
}

// Subscribe adds a subscriber with its own buffer and policy, configured by
// opts as for NewPort (and panicking on invalid opts as NewPort does).
// Subscribing to a closed topic returns a subscription that is already
// closed.
func (t *Topic[T]) Subscribe(opts Options[T]) *Subscription[T] {
	if opts.Clone == nil {
		opts.Clone = t.clone
	}
	s := &Subscription[T]{port: NewPort(opts), topic: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		_ = s.port.Close()
		return s
	}
	old := *t.subs.Load()
	subs := make([]*Subscription[T], len(old), len(old)+1)
	copy(subs, old)
	subs = append(subs, s)
	t.subs.Store(&subs)
	return s
}

// Publish delivers msg to every current subscriber according to its policy
// and returns when each has it buffered, dropped or refused it. It waits only
// for full Block subscribers, and only until ctx ends; then it returns an
// error that says how many subscribers missed msg and matches ctx.Err().
// If some Fail subscribers were full, the error says how many and matches
// ErrFull. After Close, Publish returns ErrClosed.
func (t *Topic[T]) Publish(ctx context.Context, msg T) error {
	// Load subs before closed: Close sets closed before it empties subs, so
	// a Publish that sees the emptied list also sees closed.
	subs := *t.subs.Load()
	if t.closed.Load() {
		return t.wrap(ErrClosed)
	}
	t.published.Add(1)
	var tally tally
	type pending struct {
		port *Port[T]
		msg  T
	}
	var blocked []pending
	for _, s := range subs {
		m := msg
		if s.port.clone != nil {
			m = s.port.clone(msg) // once per subscriber, not once per attempt
		}
		o, evicted, _ := s.port.offerCopy(ctx, m, false)
		if o == full && s.port.policy == Block {
			blocked = append(blocked, pending{s.port, m})
			continue
		}
		tally.count(o, evicted)
	}
	for _, b := range blocked {
		o, evicted, _ := b.port.offerCopy(ctx, b.msg, true)
		tally.count(o, evicted)
	}
	return t.result(ctx, tally, len(subs))
}

// tally is what happened to one published message.
type tally struct{ delivered, dropped, full, missed, gone int }

// count records the outcome of one offer, and the messages DropOldest
// evicted for it: one per attempt, so possibly several when concurrent
// publishers took the room it made.
func (c *tally) count(o outcome, evicted int) {
	c.dropped += evicted
	switch o {
	case accepted:
		c.delivered++
	case rejected:
		c.dropped++
	case full:
		c.full++
	case refused: // ctx ended while the subscriber was full
		c.missed++
	case gone: // unsubscribed or closed meanwhile
		c.gone++
	}
}

// result adds c to the topic's counters, once per Publish rather than once
// per subscriber, and turns it into Publish's error.
func (t *Topic[T]) result(ctx context.Context, c tally, n int) error {
	add(&t.delivered, c.delivered)
	add(&t.dropped, c.dropped)
	add(&t.failed, c.full)
	var errs []error
	if c.missed > 0 && ctx.Err() != nil {
		add(&t.failed, c.missed)
		errs = append(errs, fmt.Errorf("%d of %d subscribers missed the message: %w", c.missed, n, ctx.Err()))
	}
	if c.full > 0 {
		errs = append(errs, &described{fmt.Sprintf("%d of %d subscribers full", c.full, n), []error{ErrFull}})
	}
	if len(errs) == 0 {
		if c.delivered == 0 && c.gone > 0 && t.closed.Load() {
			return t.wrap(ErrClosed) // Close won the race with this Publish
		}
		return nil
	}
	return t.wrap(errors.Join(errs...))
}

func add(counter *atomic.Uint64, n int) {
	if n > 0 {
		counter.Add(uint64(n))
	}
}

// wrap names the topic in err, on one line. An unnamed topic's ErrClosed
// is the bare sentinel.
func (t *Topic[T]) wrap(err error) error {
	switch {
	case t.name != "":
		return describe("topic "+strconv.Quote(t.name), nil, err)
	case err == ErrClosed:
		return err
	}
	return describe("topic", nil, err)
}

// Close closes the topic and every subscription, and returns nil. Each
// subscriber still receives what was delivered to it, then ErrClosed;
// Publish returns ErrClosed. Close is idempotent.
func (t *Topic[T]) Close() error {
	t.mu.Lock()
	if t.closed.Swap(true) {
		t.mu.Unlock()
		return nil
	}
	subs := *t.subs.Swap(new([]*Subscription[T]))
	t.mu.Unlock()
	for _, s := range subs {
		_ = s.port.Close()
	}
	return nil
}

// Stats returns a snapshot of the topic's counters. It is safe for
// concurrent use.
func (t *Topic[T]) Stats() TopicStats {
	return TopicStats{
		Name:        t.name,
		Published:   t.published.Load(),
		Delivered:   t.delivered.Load(),
		Dropped:     t.dropped.Load(),
		Failed:      t.failed.Load(),
		Subscribers: len(*t.subs.Load()),
		Closed:      t.closed.Load(),
	}
}

func (t *Topic[T]) remove(s *Subscription[T]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.subs.Load()
	subs := make([]*Subscription[T], 0, len(old))
	for _, o := range old {
		if o != s {
			subs = append(subs, o)
		}
	}
	t.subs.Store(&subs)
}

// Unsubscribe stops delivery to s and closes it: messages already buffered
// can still be received, then Recv returns ErrClosed. A Publish waiting on s
// is released. Unsubscribe is idempotent and safe during Publish.
func (s *Subscription[T]) Unsubscribe() {
	s.topic.remove(s)
	_ = s.port.Close()
}

// Recv waits for the next message, as Port.Recv does.
func (s *Subscription[T]) Recv(ctx context.Context) (T, error) { return s.port.Recv(ctx) }

// TryRecv returns the next message without waiting, as Port.TryRecv does.
func (s *Subscription[T]) TryRecv() (T, bool) { return s.port.TryRecv() }

// C returns the receive side for use in select, as Port.C does.
func (s *Subscription[T]) C() <-chan T { return s.port.C() }

// Len returns the number of buffered messages.
func (s *Subscription[T]) Len() int { return s.port.Len() }

// Stats returns a snapshot of the subscription's buffer counters.
func (s *Subscription[T]) Stats() PortStats { return s.port.Stats() }
