package pool

import "sync"

// naps is where idle slots wait, most recent last, while another idle slot
// waits in the queue itself (see park). The queue's sleepers are woken in
// the order they fell asleep, so with all of them there a task went to the
// slot that had been idle longest, whose stack, goroutine and slot struct
// had long left the processor's caches: with thousands of workers, each
// task cost a round of cache misses on top of the wake-up. One slot at a
// time waits in the queue; when it leaves with a task, it hands its place
// to the slot that parked last, which is still warm, as a goroutine that
// the runtime reuses for the next go statement is.
type naps[In, Out any] struct {
	mu      sync.Mutex
	queued  bool             // a slot waits in the queue
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
	if !n.queued {
		n.queued = true
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
		n.queued = false
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
