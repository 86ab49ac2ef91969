package pool

import (
	"fmt"
	"sync/atomic"
)

// A stall is a pool that cannot move: work is queued, every worker it may
// run is busy, and no task has started or finished for a whole IdleTimeout.
// Tasks that wait on their own pool with a ctx other than their own (see
// Pool) end that way, as does any deadlock among the tasks; so do tasks
// that all run longer than IdleTimeout while more wait. The check runs on
// the idle tick, which a pool has anyway, and costs tasks nothing: it
// compares counts that the pool keeps, at two ticks in a row.
type stallCheck struct {
	armed    bool          // the last tick saw the pool full, and recorded progress
	progress atomic.Uint64 // tasks taken from the queue or resolved, at the last full tick
	stalled  atomic.Bool   // the last two ticks saw the pool full and no progress
}

// checkStall runs on the idle tick: it reports a stall when this tick and
// the one before both found the pool full, with no progress in between.
// Only the tick's goroutine calls it.
func (p *Pool[In, Out]) checkStall() {
	c := &p.stallCheck
	if p.queued() == 0 || p.idle.Load() > 0 || p.live.Load() < p.limit() {
		c.armed = false
		c.stalled.Store(false)
		return
	}
	now := p.progress()
	if !c.armed || now != c.progress.Load() {
		c.armed = true
		c.progress.Store(now)
		c.stalled.Store(false)
		return
	}
	if c.stalled.CompareAndSwap(false, true) {
		p.emit(PoolStalled, 0, fmt.Errorf("pool %q: stalled: no task started or finished in %v, with %d queued and %d of %d workers busy",
			p.opts.Name, p.opts.IdleTimeout, p.queued(), p.live.Load(), p.limit()))
	}
}

// progress counts the tasks taken from the queue and the tasks resolved by
// workers: it stands still only while no task starts or finishes.
func (p *Pool[In, Out]) progress() uint64 {
	var total counters
	p.mu.Lock()
	p.sumLocked(&total)
	p.mu.Unlock()
	return p.queue.Popped() + total.resolved()
}

// stalled reports whether the pool is in a stall whose progress count,
// taken now, is still the one the stall was seen with.
func (p *Pool[In, Out]) stalled(now uint64) bool {
	return p.stallCheck.stalled.Load() && now == p.stallCheck.progress.Load()
}
