package messaging

import (
	"context"

	"github.com/crewkit/crew/internal/ring"
)

// outcome is what happened to one offered message; Topic counts them. The
// messages DropOldest evicted on the way are counted apart (see offerCopy).
type outcome uint8

const (
	accepted outcome = iota // buffered
	rejected                // discarded by DropNewest
	full                    // not buffered: ErrFull
	refused                 // not buffered: ctx ended
	gone                    // not buffered: ErrClosed
	reroute                 // not buffered: the ring closed, see offerCopy
)

// offer is the body of Send (wait true) and TrySend (wait false).
func (p *Port[T]) offer(ctx context.Context, msg T, wait bool) (outcome, int, error) {
	if p.clone != nil {
		msg = p.clone(msg)
	}
	return p.offerCopy(ctx, msg, wait)
}

// offerCopy is offer for a message that was already cloned. It also
// returns how many buffered messages DropOldest evicted to make room: one
// per attempt, and an attempt whose room another sender took first is
// followed by another, so there may be more than one.
func (p *Port[T]) offerCopy(ctx context.Context, msg T, wait bool) (outcome, int, error) {
	n := 0 // evicted before the ring closed, when it did
	switch p.mode.Load() {
	case ringMode:
		switch p.ring.TryPush(msg) {
		case ring.OK:
			return accepted, 0, nil
		case ring.Full:
			var o outcome
			var err error
			if o, n, err = p.overflowRing(ctx, msg, wait); o != reroute {
				return o, n, err
			}
		}
		if !p.toChannelNow() { // the ring closed because the port closed
			return gone, n, wrap(p.name, ErrClosed)
		}
	case switching:
		<-p.switched
	}
	o, m, err := p.offerChan(ctx, msg, wait)
	return o, n + m, err
}

// overflowRing handles a full ring according to the policy, and returns
// how many messages it evicted. It returns reroute, with msg neither sent
// nor dropped, when the ring closed meanwhile.
func (p *Port[T]) overflowRing(ctx context.Context, msg T, wait bool) (outcome, int, error) {
	switch {
	case p.policy == DropNewest:
		p.rejected.Add(1)
		p.drop(msg)
		return rejected, 0, nil
	case p.policy == DropOldest:
		for n := 0; ; {
			// Evict and push under p.lock, which Close and C hold to close
			// the ring, so that the ring cannot close in between: an
			// eviction followed by a push that finds the ring closed would
			// discard an accepted message for nothing.
			p.lock <- struct{}{}
			if p.ring.Closed() {
				<-p.lock
				return reroute, n, nil
			}
			old, st := p.ring.TryPop()
			evicted := st == ring.OK
			if evicted {
				p.evicted.Add(1)
				n++
			}
			pushed := p.ring.TryPush(msg) // OK or Full: the ring is open
			<-p.lock
			if evicted {
				p.drop(old)
			}
			if pushed == ring.OK {
				return accepted, n, nil
			}
		}
	case p.policy == Block && wait:
		switch p.ring.Push(msg, ctx.Done()) {
		case ring.OK:
			return accepted, 0, nil
		case ring.Canceled:
			return refused, 0, ctx.Err()
		}
		return reroute, 0, nil
	}
	return full, 0, wrap(p.name, ErrFull)
}

// offerChan is offerCopy in channel mode.
func (p *Port[T]) offerChan(ctx context.Context, msg T, wait bool) (outcome, int, error) {
	if !p.state.enter() { // inlined, as is leave below: this is the hot path
		p.leave(false)
		return gone, 0, wrap(p.name, ErrClosed)
	}
	select {
	case p.ch <- msg:
		if p.state.leave(true) {
			p.wakeCloser()
		}
		return accepted, 0, nil
	default:
	}
	return p.overflow(ctx, msg, wait)
}

// enter registers a sender. It reports false, registering nothing, when the
// port is closed. A registered sender keeps Close from closing p.ch.
func (p *Port[T]) enter() bool {
	if p.state.enter() {
		return true
	}
	p.leave(false)
	return false
}

// leave unregisters a sender, counting a sent message if sent is true.
func (p *Port[T]) leave(sent bool) {
	if p.state.leave(sent) {
		p.wakeCloser()
	}
}

// wakeCloser tells Close that the last sender inside a closed port left.
func (p *Port[T]) wakeCloser() {
	select {
	case p.idle <- struct{}{}:
	default:
	}
}

// overflow handles a full channel according to the policy, and returns how
// many messages it evicted. The caller has entered; overflow leaves before
// it returns and before any hook runs.
func (p *Port[T]) overflow(ctx context.Context, msg T, wait bool) (outcome, int, error) {
	switch {
	case p.policy == DropNewest:
		p.rejected.Add(1)
		p.leave(false)
		p.drop(msg)
		return rejected, 0, nil
	case p.policy == DropOldest:
		return p.displace(msg)
	case p.policy == Block && wait:
		err := p.block(ctx, msg)
		p.leave(err == nil)
		if err != nil {
			if isClosed(err) {
				return gone, 0, err
			}
			return refused, 0, err
		}
		return accepted, 0, nil
	}
	p.leave(false)
	return full, 0, wrap(p.name, ErrFull)
}

// block waits for room, Close or the end of ctx.
func (p *Port[T]) block(ctx context.Context, msg T) error {
	select {
	case p.ch <- msg:
		return nil
	case <-p.done:
		return wrap(p.name, ErrClosed)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// displace evicts the oldest message until msg fits, and returns how many
// it evicted: another sender may take the room first, and then displace
// evicts again. The caller has entered; displace leaves before it calls
// OnDrop, so hooks never delay Close.
func (p *Port[T]) displace(msg T) (outcome, int, error) {
	for n := 0; ; {
		old, evicted := p.evict()
		if evicted {
			n++
		}
		select {
		case p.ch <- msg:
			p.leave(true)
			if evicted {
				p.drop(old)
			}
			return accepted, n, nil
		default:
		}
		p.leave(false)
		if evicted {
			p.drop(old)
		}
		if !p.enter() {
			return gone, n, wrap(p.name, ErrClosed)
		}
	}
}

// evict removes the oldest buffered message, if any. The caller has entered,
// so p.ch is open.
func (p *Port[T]) evict() (T, bool) {
	select {
	case old := <-p.ch:
		p.evicted.Add(1)
		return old, true
	default:
		var zero T
		return zero, false
	}
}

// drop hands a discarded message to OnDrop, then declines it if it is a
// request envelope, so that its requester gets ErrNoResponder at once.
func (p *Port[T]) drop(msg T) {
	if p.onDrop != nil {
		p.onDrop(msg)
	}
	if p.declines {
		if d, ok := any(msg).(decliner); ok {
			d.decline()
		}
	}
}
