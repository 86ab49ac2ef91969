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

// overflow holds the tasks of an Unbounded pool that do not fit in the
// queue's buffer, oldest first. While it holds any, new tasks join it, and
// workers move tasks from it into the buffer as they take tasks out, so
// dispatch stays FIFO.
type overflow[In, Out any] struct {
	on      bool // the pool is Unbounded
	n       atomic.Int64
	mu      sync.Mutex
	tasks   []task[In, Out]
	spilled uint64 // tasks ever appended, under mu
}

// push queues t in an Unbounded pool: into the buffer while the overflow is
// empty and the buffer has room, else at the end of the overflow.
func (p *Pool[In, Out]) push(t task[In, Out]) error {
	o := &p.ovf
	o.mu.Lock()
	defer o.mu.Unlock()
	if p.state.Load() != stateOpen {
		return p.stateErr()
	}
	if len(o.tasks) == 0 && p.tryPut(t, false) == ring.OK {
		return nil
	}
	// The queue's position, which picked whether to time t (see
	// core.now), does not move while tasks overflow: pick again by the
	// count of overflowed tasks, or all of them would be timed, or none.
	o.spilled++
	t.enq = p.now(o.spilled)
	o.tasks = append(o.tasks, t)
	o.n.Store(int64(len(o.tasks)))
	return nil
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
	if p.ovf.on {
		p.ovf.mu.Lock()
		defer p.ovf.mu.Unlock()
	}
	change()
}

// popOverflow takes the oldest overflow task, once the buffer is closed and
// drained.
func (p *Pool[In, Out]) popOverflow() (task[In, Out], bool) {
	o := &p.ovf
	if !o.on || o.n.Load() == 0 {
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
