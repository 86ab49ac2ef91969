package pool

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/crewkit/crew/internal/ring"
)

// Close stops the pool. It blocks until every worker has exited, or until
// ctx ends and the work left has been canceled, and is safe to call more
// than once and concurrently; later calls wait for the first one and return its result.
//
// Close first stops accepting work (ErrClosed), then lets queued and running
// tasks finish. If ctx ends before they do, Close cancels the contexts of
// running tasks, resolves the tasks still queued with ErrClosed, waits up to
// HungGrace for the cancelled tasks to return, and returns a *CloseError
// naming the workers whose tasks ignored cancellation: Go cannot stop a
// goroutine, so those keep running until their handlers return. The
// Messages port is closed last, after the remaining messages.
func (p *Pool[In, Out]) Close(ctx context.Context) error {
	if p.begun.CompareAndSwap(false, true) {
		p.shutdown(ctx)
		close(p.ended)
	} else {
		<-p.ended // a channel, not sync.Once: durably blocking under synctest
	}
	return p.result
}

func (p *Pool[In, Out]) shutdown(ctx context.Context) {
	p.leaveState(func() { p.state.CompareAndSwap(stateOpen, stateClosing) })
	p.ticker.Stop()
	p.queue.Close()
	for p.maybeSpawn() { // make sure queued work has workers to drain it
	}
	// Only now may a slot's exit signal drained: the queue is final and the
	// work in it has workers. Set earlier, a slot leaving in between could
	// close drained with a task queued behind it and no worker to run it.
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	close(p.closeBegun) // wakes slots waiting a backoff, which leave if nothing is queued
	p.checkDrained()
	var err error
	select {
	case <-p.drained:
	case <-ctx.Done():
		err = p.force(ctx)
	}
	p.mu.Lock()
	if err == nil && len(p.hung) > 0 {
		err = &CloseError{Hung: p.hungNames()}
	}
	p.mu.Unlock()
	p.msgs.Close()
	p.kill(ErrClosed)
	p.emit(PoolClosed, 0, err)
	grace := time.NewTimer(p.opts.HungGrace)
	p.events.stop(grace.C)
	grace.Stop()
	p.result = err
}

// force cancels what is left after Close's ctx ended.
func (p *Pool[In, Out]) force(ctx context.Context) error {
	p.leaveState(func() { p.stop(stateForced) })
	p.kill(fmt.Errorf("%w: %w", ErrClosed, context.Cause(ctx)))
	p.cancelRunning()
	canceled := p.drainQueue()
	grace := time.NewTimer(p.opts.HungGrace)
	defer grace.Stop()
	select {
	case <-p.drained:
	case <-grace.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	canceled += int(p.forced.Load())
	return &CloseError{Cause: ctx.Err(), Canceled: canceled, Hung: p.hungNames()}
}

// drainQueue resolves every task still queued with the pool's state error
// and returns how many there were.
func (p *Pool[In, Out]) drainQueue() int {
	err := p.stateErr()
	n := 0
	for {
		t, ok := p.takeHeld()
		if !ok {
			var st ring.Status
			t, st = p.tryTake()
			ok = st == ring.OK
		}
		if !ok {
			if t, ok = p.popOverflow(); !ok {
				return n
			}
		}
		if t.fut != nil && !t.fut.resolve(*new(Out), err) {
			p.gone.Add(-1) // abandoned by its caller, and counted then
			continue
		}
		n++
		p.dropped.Add(1)
		if t.fut == nil || t.fut.detached() {
			p.opts.OnError(err)
		}
	}
}

// fail moves the pool to the failed state after the restart policy gave up.
func (p *Pool[In, Out]) fail(err error) {
	p.failErr.Store(&err)
	var stopped bool
	p.leaveState(func() { stopped = p.stop(stateFailed) })
	if !stopped {
		return
	}
	p.emit(PoolFailed, 0, err)
	p.queue.Close()
	p.drainQueue()
}

// hungNames describes the slots that did not stop: those still serving
// (called once Close gave up on them) and those declared hung; p.mu is
// held.
func (p *Pool[In, Out]) hungNames() []string {
	var names []string
	for _, set := range []map[*slot[In, Out]]struct{}{p.slots, p.hung} {
		for s := range set {
			name := fmt.Sprintf("%s worker %d", p.opts.Name, s.id)
			if since := s.since.Load(); since != 0 {
				ran := p.clock() - time.Duration(since-1)
				name += fmt.Sprintf(" (running for %v)", ran.Round(time.Millisecond))
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
