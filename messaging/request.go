package messaging

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
)

// Envelope carries one request from Request to a responder, with a reply
// slot for the answer. The responder must answer exactly once, with Reply or
// Decline; an envelope dropped without an answer is declined for it when the
// garbage collector reclaims it, or at once when a DropOldest or DropNewest
// port discards it.
//
// A port that carries envelopes may set Options.Clone only to a function
// that returns the same pointer or a shallow copy; copies share one reply
// slot.
type Envelope[Q, R any] struct {
	// Body is the request.
	Body Q

	ctx  context.Context
	slot *slot[R]
}

// slot is the reply side of an envelope. The requester holds only ch, so
// that the slot becomes garbage when every envelope pointing to it does.
type slot[R any] struct {
	answered atomic.Bool
	ch       chan answer[R] // capacity 1: answering never blocks
}

type answer[R any] struct {
	resp R
	err  error
}

// decliner is implemented by every *Envelope; Port declines the envelopes it
// drops.
type decliner interface{ decline() }

// Reply answers the request with resp and err, which the requester receives
// from Request. It never blocks, also when the requester has gone. Only the
// first answer counts: later calls return ErrAlreadyReplied and change
// nothing. Reply is safe for concurrent use.
func (e *Envelope[Q, R]) Reply(resp R, err error) error {
	if e.slot == nil || !e.slot.answered.CompareAndSwap(false, true) {
		return ErrAlreadyReplied
	}
	e.slot.ch <- answer[R]{resp: resp, err: err}
	return nil
}

// Decline answers the request with ErrNoResponder, for a responder that will
// not handle it. Like Reply, only the first answer counts.
func (e *Envelope[Q, R]) Decline() error {
	var zero R
	return e.Reply(zero, ErrNoResponder)
}

func (e *Envelope[Q, R]) decline() { _ = e.Decline() }

// Context returns the requester's context. A responder may stop working on
// the request when it ends; Request has then already returned ctx.Err().
func (e *Envelope[Q, R]) Context() context.Context {
	if e.ctx == nil {
		return context.Background()
	}
	return e.ctx
}

// Request sends body to port in an Envelope and waits for the responder's
// answer. It returns the responder's resp and err, ctx.Err() when ctx ends
// first, or an error matching ErrNoResponder when the port is closed (the
// error also matches ErrClosed) or the responder declined or dropped the
// envelope. Under the Fail policy a full port gives ErrFull. Request never
// waits beyond ctx and never leaves a goroutine behind.
func Request[Q, R any](ctx context.Context, port *Port[*Envelope[Q, R]], body Q) (R, error) {
	var zero R
	replies, err := post(ctx, port, body)
	if err != nil {
		return zero, err
	}
	select {
	case a := <-replies:
		return a.resp, a.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// post sends the envelope and returns only its reply channel, so that the
// requester keeps nothing that would keep the envelope alive.
func post[Q, R any](ctx context.Context, port *Port[*Envelope[Q, R]], body Q) (<-chan answer[R], error) {
	replies := make(chan answer[R], 1)
	s := &slot[R]{ch: replies}
	runtime.AddCleanup(s, abandon[R], replies)
	err := port.Send(ctx, &Envelope[Q, R]{Body: body, ctx: ctx, slot: s})
	switch {
	case err == nil:
		return replies, nil
	case isClosed(err):
		return nil, fmt.Errorf("%w: %w", ErrNoResponder, err)
	}
	return nil, err
}

// abandon runs when a reply slot is garbage: no envelope can answer any
// more. If nobody answered, the requester gets ErrNoResponder.
func abandon[R any](replies chan answer[R]) {
	select {
	case replies <- answer[R]{err: ErrNoResponder}:
	default:
	}
}
