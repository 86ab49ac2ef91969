package pool

import (
	"sync"
	"sync/atomic"

	"github.com/crewkit/crew/internal/ring"
)

// Unbounded, as Options.QueueSize, lets the queue grow without limit: Submit
// and Go never wait and TrySubmit never fails with ErrQueueFull. Use it only
// when the producer is bounded some other way; an unbounded queue turns
// overload into memory growth and latency instead of an error.
const Unbounded = -1

// overflow holds, oldest first, the tasks that do not fit in the queue's
// buffer: beyond the buffer of an Unbounded pool, or, in a bounded pool,
// in place of the cells that abandoned tasks still take (see
// Future.abandon). While it holds any, new tasks join it, and workers move
// tasks from it into the buffer as they take tasks out, so dispatch stays
// FIFO.
type overflow[In, Out any] struct {
	on      bool // the pool is Unbounded
	n       atomic.Int64
	mu      sync.Mutex
	tasks   []task[In, Out]
	spilled uint64 // tasks ever appended, under mu
}

// push queues t into the buffer while the overflow is empty and the buffer
// has room, else at the end of the overflow: always in an Unbounded pool,
// and in a bounded one while abandoned tasks leave room. It returns OK,
// Full, or Closed when the pool no longer takes work.
func (p *Pool[In, Out]) push(t task[In, Out]) ring.Status {
	o := &p.ovf
	o.mu.Lock()
	defer o.mu.Unlock()
	if p.state.Load() != stateOpen {
		return ring.Closed
	}
	if len(o.tasks) == 0 && p.tryPut(t, false) == ring.OK {
		return ring.OK
	}
	if !o.on {
		if len(o.tasks) >= p.opts.QueueSize {
			p.prune()
		}
		if p.queued() >= p.opts.QueueSize {
			return ring.Full
		}
	}
	// The queue's position, which picked whether to time t (see
	// core.now), does not move while tasks overflow: pick again by the
	// count of overflowed tasks, or all of them would be timed, or none.
	o.spilled++
	t.enq = p.now(o.spilled)
	o.tasks = append(o.tasks, t)
	o.n.Store(int64(len(o.tasks)))
	return ring.OK
}

// prune drops the abandoned tasks from the overflow, so that callers who
// keep giving up cannot grow it past the queue's bound; o.mu is held.
func (p *Pool[In, Out]) prune() {
	o := &p.ovf
	kept := o.tasks[:0]
	for _, t := range o.tasks {
		if t.fut != nil && t.fut.state.Load() != pending {
			p.gone.Add(-1) // only abandoned tasks are resolved while queued
			continue
		}
		kept = append(kept, t)
	}
	clear(o.tasks[len(kept):])
	o.tasks = kept
	o.n.Store(int64(len(o.tasks)))
}

// refill moves overflow tasks into the buffer while it has room.
func (p *Pool[In, Out]) refill() {
	o := &p.ovf
	o.mu.Lock()
	defer o.mu.Unlock()
	i := 0
	for i < len(o.tasks) && p.tryPut(o.tasks[i], false) == ring.OK {
		i++
	}
	p.shift(i)
}

// leaveState runs change, which moves the pool out of the open state, so
// that no push is between its check of the state and its append: a push
// either lands before the change, where draining finds it, or sees the new
// state and fails.
func (p *Pool[In, Out]) leaveState(change func()) {
	p.ovf.mu.Lock()
	defer p.ovf.mu.Unlock()
	change()
}

// popOverflow takes the oldest overflow task, once the buffer is closed and
// drained.
func (p *Pool[In, Out]) popOverflow() (task[In, Out], bool) {
	o := &p.ovf
	if o.n.Load() == 0 {
		return task[In, Out]{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.tasks) == 0 {
		return task[In, Out]{}, false
	}
	t := o.tasks[0]
	p.shift(1)
	return t, true
}

// shift drops the first i overflow tasks; o.mu is held.
func (p *Pool[In, Out]) shift(i int) {
	o := &p.ovf
	clear(o.tasks[:i])
	o.tasks = o.tasks[i:]
	if len(o.tasks) == 0 {
		o.tasks = nil
	}
	o.n.Store(int64(len(o.tasks)))
}
