package pool

import (
	"context"
	"fmt"
)

// Reload replaces every worker with a fresh one from the factory, one at a
// time and without losing capacity, like pm2's zero-downtime reload: for each
// current worker it first builds a new one beside it, then retires the old
// one after its current task. No task fails because of a reload; queued
// tasks keep flowing to the workers that are up. Workers built while Reload
// runs are new already and are left alone.
//
// Reload blocks until every worker present when it started was replaced, or
// ctx ends (it then returns ctx.Err() wrapped, with the replacement partly
// done), or the pool closes. Calls are serialised.
func (p *Pool[In, Out]) Reload(ctx context.Context) error {
	select { // a channel, not a mutex: the wait respects ctx
	case p.reload <- struct{}{}:
		defer func() { <-p.reload }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.state.Load() != stateOpen {
		return p.stateErr()
	}
	p.mu.Lock()
	old := make([]*slot[In, Out], 0, len(p.slots))
	for s := range p.slots {
		old = append(old, s)
	}
	p.mu.Unlock()
	for i, s := range old {
		if err := p.replace(ctx, s); err != nil {
			return describe(head(p.opts.Name), fmt.Sprintf("reload: %d of %d workers replaced", i, len(old)), nil, err)
		}
	}
	p.emit(PoolReloaded, 0, nil)
	return nil
}

// replace starts a surge slot, waits until its worker is built, then retires
// s and waits for it to leave.
func (p *Pool[In, Out]) replace(ctx context.Context, s *slot[In, Out]) error {
	select {
	case <-s.left:
		return nil // already gone (idle retirement, crash of the pool)
	default:
	}
	p.surge.Add(1)
	p.live.Add(1)
	fresh := p.launch(make(chan struct{}))
	if fresh == nil {
		p.surge.Add(-1)
		return p.stateErr()
	}
	select {
	case <-fresh.ready:
	case <-fresh.left:
		p.surge.Add(-1)
		return p.stateErr()
	case <-ctx.Done():
		p.surge.Add(-1)
		return ctx.Err()
	}
	// Hand the old slot's place in live to the fresh one, so that nothing
	// is spawned or retired to make up for it while it finishes its task.
	if s.uncounted.CompareAndSwap(false, true) {
		p.live.Add(-1)
	}
	p.surge.Add(-1)
	s.halt()
	// A parked slot sees the stop only when something wakes it; a busy one
	// checks the stop before it parks again.
	p.nudge()
	select {
	case <-s.left:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
