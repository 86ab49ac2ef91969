package messaging

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Envelope carries one request from Request to a responder, with a reply
// slot for the answer. The responder must answer exactly once, with Reply or
// Decline; an envelope dropped without an answer is declined for it when the
// garbage collector reclaims it, or at once when a DropOldest or DropNewest
// port discards it.
//
// Detection by the garbage collector is off inside a testing/synctest
// bubble, where cleanups cannot wake the requester; there Request ends with
// its ctx instead.
//
// A port that carries envelopes cannot have an Options.Clone hook: NewPort
// panics, since a copy would leave the original to be collected unanswered.
// Copy the body before calling Request instead.
type Envelope[Q, R any] struct {
	// Body is the request.
	Body Q

	ctx context.Context
	w   *waiter[R] // nil for an envelope not made by Request
}

// waiter is the requester's side of the reply slot. The requester holds only
// the waiter, so that the envelope becomes garbage once the responder drops
// it.
type waiter[R any] struct {
	state atomic.Uint32 // replied and left bits
	resp  R             // written once, by whoever set replied, before done
	err   error
	done  chan struct{} // closed when resp and err are set: never blocks
}

const (
	replied = 1 << iota // resp and err are being set; done will be closed
	left                // Request returned without an answer
)

// answer publishes the answer. Only the caller that set replied may call it.
func (w *waiter[R]) answer(resp R, err error) {
	w.resp, w.err = resp, err
	close(w.done)
}

// settle sets bit unless an answer was already sent, and reports whether it
// did.
func (w *waiter[R]) settle(bit uint32) bool {
	for {
		s := w.state.Load()
		if s&replied != 0 {
			return false
		}
		if w.state.CompareAndSwap(s, s|bit) {
			return true
		}
	}
}

// decliner is implemented by every *Envelope; Port declines the envelopes it
// drops.
type decliner interface{ decline() }

// Reply answers the request with resp and err, which the requester receives
// from Request. It never blocks, also when the requester has gone. Only the
// first answer counts: later calls return ErrAlreadyReplied and change
// nothing. Reply is safe for concurrent use.
func (e *Envelope[Q, R]) Reply(resp R, err error) error {
	if e.w == nil || !e.w.settle(replied) {
		return ErrAlreadyReplied
	}
	e.w.answer(resp, err)
	return nil
}

// Decline answers the request with ErrNoResponder, for a responder that will
// not handle it. Like Reply, only the first answer counts.
func (e *Envelope[Q, R]) Decline() error {
	var zero R
	return e.Reply(zero, ErrNoResponder)
}

func (e *Envelope[Q, R]) decline() {
	if e != nil {
		_ = e.Decline()
	}
}

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
//
// Each call allocates the envelope and its reply slot and registers a
// runtime cleanup on the envelope, which is most of its cost; see
// docs/benchmarks.md.
func Request[Q, R any](ctx context.Context, port *Port[*Envelope[Q, R]], body Q) (R, error) {
	var zero R
	w, err := post(ctx, port, body)
	if err != nil {
		return zero, err
	}
	select {
	case <-w.done:
		return w.resp, w.err
	case <-ctx.Done():
		w.settle(left)
		return zero, ctx.Err()
	}
}

// post sends the envelope and returns only its waiter, so that the
// requester keeps nothing that would keep the envelope alive.
func post[Q, R any](ctx context.Context, port *Port[*Envelope[Q, R]], body Q) (*waiter[R], error) {
	w := &waiter[R]{done: make(chan struct{})}
	env := &Envelope[Q, R]{Body: body, ctx: ctx, w: w}
	if !inSynctestBubble() {
		runtime.AddCleanup(env, abandon[R], w)
	}
	err := port.Send(ctx, env)
	switch {
	case err == nil:
		return w, nil
	case isClosed(err):
		return nil, describe("no responder", ErrNoResponder, err)
	}
	return nil, err
}

// abandon runs when an envelope is garbage: nobody can answer it any more. If the requester still waits, it gets ErrNoResponder.
func abandon[R any](w *waiter[R]) {
	if w.state.CompareAndSwap(0, replied) {
		var zero R
		w.answer(zero, ErrNoResponder)
	}
}

// inSynctestBubble reports whether the caller runs in a testing/synctest
// bubble, where time.Now has no monotonic clock reading. Cleanups run
// outside every bubble and must not touch a bubble's channels, so inside a
// bubble a dropped envelope is not detected: Request then ends with ctx, or
// synctest reports the deadlock.
func inSynctestBubble() bool {
	now := time.Now() // == below compares the monotonic readings on purpose
	return now == now.Round(0)
}
