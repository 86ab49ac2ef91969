package pool

import "sync"

// naps is where idle slots wait, most recent last, while others wait in the
// queue itself (see park). The queue's sleepers are woken in the order
// they fell asleep, so with every idle slot there a task went to the slot
// that had been idle longest, whose stack, goroutine and slot struct had
// long left the processor's caches: with thousands of workers, each task
// cost a round of cache misses on top of the wake-up. Now at most one slot
// per processor waits in the queue, and the others nap; a slot that leaves
// the queue hands its place to the slot that napped last, which is still
// warm, as a goroutine that the runtime reuses for the next go statement
// is. A pool with no more workers than processors never naps, so its
// slots wake as they did before (P1 and P2 run two).
type naps[In, Out any] struct {
	// procs is GOMAXPROCS when the pool was made: reading it on every
	// park would take the scheduler's lock each time.
	procs   int
	mu      sync.Mutex
	queued  int              // slots waiting in the queue: at most GOMAXPROCS
	waiting []*slot[In, Out] // slots napping, the most recent last
}

// enter reports true when s may wait in the queue now; otherwise s naps
// until it may, and enter reports true then, or false when the pool was
// nudged (see nudge) after the queue's Interrupts returned nudged, and s
// should look at the pool again. A slot that enter lets in must call leave
// once it is out of the queue.
func (p *Pool[In, Out]) enter(s *slot[In, Out], nudged uint64) bool {
	n := &p.naps
	n.mu.Lock()
	if n.queued < n.procs {
		n.queued++
		n.mu.Unlock()
		return true
	}
	// nudge interrupts the queue before it takes the lock: either it
	// finds s napping, or s sees the interrupt here.
	if p.queue.Interrupts() != nudged {
		n.mu.Unlock()
		return false
	}
	if s.nap == nil {
		s.nap = make(chan bool, 1)
	}
	n.waiting = append(n.waiting, s)
	n.mu.Unlock()
	return <-s.nap
}

// leave hands the place in the queue of a slot that is out of it to the
// slot that napped last, if any.
func (p *Pool[In, Out]) leave() {
	n := &p.naps
	n.mu.Lock()
	k := len(n.waiting)
	if k == 0 {
		n.queued--
		n.mu.Unlock()
		return
	}
	s := n.waiting[k-1]
	n.waiting[k-1] = nil
	n.waiting = n.waiting[:k-1]
	n.mu.Unlock()
	s.nap <- true
}

// wakeNappers wakes every napping slot to look at the pool again.
func (p *Pool[In, Out]) wakeNappers() {
	n := &p.naps
	n.mu.Lock()
	waiting := n.waiting
	n.waiting = nil
	n.mu.Unlock()
	for _, s := range waiting {
		s.nap <- false
	}
}
