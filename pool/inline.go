package pool

import (
	"sync"
	"sync/atomic"
)

// Inline runs. A caller of Run that would only block until a worker answers
// can instead borrow an idle worker and call its Handle on its own goroutine:
// the task then crosses no goroutine and no processor, which is what makes a
// tiny request/reply cheap. The worker stays the slot's; the slot's goroutine
// stays parked on the queue and takes its worker back when it wakes.
//
// A slot's lease says who holds its worker:
//
//	leaseOwn:  the slot's goroutine (running a task, building, or between
//	           tasks); the only state in which it touches its worker.
//	leaseIdle: the goroutine is parked on the queue and the worker can be
//	           lent. Only the goroutine enters it, or a borrower giving the
//	           worker back.
//	leaseLent: a borrower holds the worker.
//	leaseWant: a borrower holds the worker and the goroutine, awake, waits
//	           on back for it.
//
// Every hand-over is a compare-and-swap on lease, so the borrower's writes to
// the slot (its worker, counters, idle clock) happen before the goroutine
// reads them again. p.idle counts slots in leaseIdle; a lent slot is busy.
//
// A lent slot's goroutine is still parked on the queue, so a push may wake
// it with a task it cannot run. It hands such a task to the held list (see
// held), which counts as queued and which every slot serves before the
// queue, so the task neither waits for the borrower nor loses its place.
const (
	leaseOwn int32 = iota
	leaseIdle
	leaseLent
	leaseWant
)

// inline reports whether Run may call Handle on its caller's goroutine.
// Callers whose ctx can be cancelled qualify too: their task runs with a
// ctx that ends with theirs, as it would on the worker's goroutine, and Run
// returns when the task does. TaskTimeout needs the task on the slot's
// goroutine, where the hung watchdog can abandon it. A queued task must not
// be overtaken, so the queue must be empty, and neither may a message sent
// to the workers (see mail.go).
func (p *Pool[In, Out]) inline() bool {
	return p.lend && p.state.Load() == stateOpen && p.queued() == 0 && p.mailPending.Load() == 0
}

// lenders is the size of the table in which parked slots offer their
// workers. Slots beyond it share entries, each holding the slot that parked
// there last: a hint, not a registry, so a Run may miss an idle worker and
// queue its task as it would without inline runs.
const lenders = 16

// offer publishes the parked slot s as a lender.
func (p *Pool[In, Out]) offer(s *slot[In, Out]) {
	p.lenders[s.offerAt].Store(s)
}

// borrow takes the worker of an idle slot found among the lenders, looking
// at each entry once from *at, or returns nil. It leaves in *at the entry it
// borrowed from: Run keeps it in its future, which sync.Pool hands out per
// processor, so a processor tends to borrow the same worker every time and
// the worker's memory stays in that processor's cache.
func (p *Pool[In, Out]) borrow(at *uint32) *slot[In, Out] {
	for i := range uint32(lenders) {
		e := (*at + i) % lenders
		s := p.lenders[e].Load()
		if s == nil || s.lease.Load() != leaseIdle || !s.lease.CompareAndSwap(leaseIdle, leaseLent) {
			continue
		}
		p.idle.Add(-1)
		if p.queued() > 0 {
			// A task was queued since inline looked, and whoever queued
			// or held it counted this worker idle and started none for
			// it: the worker is the task's, and Run queues behind it.
			p.giveBack(s)
			return nil
		}
		if s.stopping.Load() { // Reload or Resize retired it: use a current worker
			p.giveBack(s)
			continue
		}
		*at = e
		return s
	}
	return nil
}

// held keeps the tasks that slots took from the queue while their workers
// were lent. A lent slot stays parked on the queue, so a push may wake it;
// rather than sit on the task until its borrower returns, it hands the task
// here, where the next free slot takes it before anything still queued, as
// its place in the queue says. Tasks land here rarely: only when a task is
// queued while some worker is lent.
type held[In, Out any] struct {
	n     atomic.Int64 // len(tasks), read without the lock
	mu    sync.Mutex
	tasks []task[In, Out]
}

// hold passes on a task that s took from the queue while its worker was lent.
func (p *Pool[In, Out]) hold(t task[In, Out]) {
	p.held.mu.Lock()
	p.held.tasks = append(p.held.tasks, t)
	p.held.n.Add(1)
	p.held.mu.Unlock()
	p.maybeSpawn() // counted as queued: a waiting nested task may allow a slot
	p.nudge()      // a parked slot takes it
	if p.halted() {
		// fail and force drain held once, after halting: t may have been
		// taken from the queue before that drain and put here after it,
		// and a halted pool builds no worker that would run it.
		p.drainQueue()
	}
}

// swapHeld is for a slot that took t from the queue while tasks were held:
// those are older, so the slot runs the oldest and t goes last in held.
func (p *Pool[In, Out]) swapHeld(t task[In, Out]) task[In, Out] {
	p.held.mu.Lock()
	defer p.held.mu.Unlock()
	if len(p.held.tasks) == 0 {
		return t
	}
	first := p.held.tasks[0]
	p.held.tasks[0] = task[In, Out]{}
	p.held.tasks = append(p.held.tasks[1:], t)
	return first
}

// takeHeld returns the oldest held task, if any.
func (p *Pool[In, Out]) takeHeld() (task[In, Out], bool) {
	if p.held.n.Load() == 0 {
		return task[In, Out]{}, false
	}
	p.held.mu.Lock()
	defer p.held.mu.Unlock()
	if len(p.held.tasks) == 0 {
		return task[In, Out]{}, false
	}
	t := p.held.tasks[0]
	p.held.tasks[0] = task[In, Out]{}
	p.held.tasks = p.held.tasks[1:]
	p.held.n.Add(-1)
	return t, true
}

// runLent runs t on the borrowed worker of s and gives the worker back.
// A panic on exec's short path is turned into the task's *PanicError, as
// serve does. If Handle calls runtime.Goexit, which ends the caller's
// goroutine, the task fails and the worker is closed (see goexited); the
// slot gets it back to rebuild.
func (p *Pool[In, Out]) runLent(s *slot[In, Out], t task[In, Out]) {
	defer func() {
		if s.handling {
			v := recover()
			if v != nil && p.opts.CrashOnPanic {
				panic(v)
			}
			p.rescued(s, v)
		}
		p.giveBack(s)
	}()
	p.exec(s, t) // no TaskTimeout with a lent worker: exec cannot detach
}

// giveBack returns a lent worker to its slot. A worker that needs its
// goroutine (it crashed or is due for recycling, or its slot should leave)
// goes back owned, and the goroutine is woken to see to it; any other goes
// back idle, to be lent again.
func (p *Pool[In, Out]) giveBack(s *slot[In, Out]) {
	s.idleTick = 0 // it was busy: its idle time starts again
	if p.attention(s) {
		if s.lease.CompareAndSwap(leaseLent, leaseOwn) {
			p.nudge() // the goroutine is parked on the queue
			return
		}
		s.lease.Store(leaseOwn) // leaseWant: it waits on back
		s.back <- struct{}{}
		return
	}
	p.idle.Add(1)
	p.offer(s) // before the worker is idle: once it is, the slot may exit
	if s.lease.CompareAndSwap(leaseLent, leaseIdle) {
		return
	}
	p.idle.Add(-1)
	s.lease.Store(leaseOwn)
	s.back <- struct{}{}
}

// attention reports whether the slot's goroutine must act before its worker
// is lent again.
func (p *Pool[In, Out]) attention(s *slot[In, Out]) bool {
	return s.w == nil || p.spent(s) || s.stopping.Load() || p.live.Load() > p.limit()
}

// reclaim takes the slot's worker back after the goroutine woke from the
// queue, waiting while a borrower still holds it. A worker handed back owned
// may need rebuilding or recycling, or the slot may have to leave: the
// goroutine's loop checks all three before it uses the worker again.
func (p *Pool[In, Out]) reclaim(s *slot[In, Out]) {
	for {
		switch s.lease.Load() {
		case leaseIdle:
			if s.lease.CompareAndSwap(leaseIdle, leaseOwn) {
				p.idle.Add(-1)
				return
			}
		case leaseLent:
			if s.lease.CompareAndSwap(leaseLent, leaseWant) {
				<-s.back
				return
			}
		case leaseOwn:
			return
		}
	}
}
