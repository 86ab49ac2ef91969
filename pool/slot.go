package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc/panics"

	"github.com/crewkit/crew/internal/ring"
)

// hungMark in slot.running marks a slot whose task was declared hung, and
// exitMark one whose goroutine has ended.
const (
	hungMark = ^uint64(0)
	exitMark = hungMark - 1
)

// markExited sets exitMark in s.running, unless the watchdog declared the
// slot hung first, and reports whether it did.
func (s *slot[In, Out]) markExited() bool {
	for {
		v := s.running.Load()
		if v == hungMark {
			return false
		}
		if s.running.CompareAndSwap(v, exitMark) {
			return true
		}
	}
}

// slot is one worker goroutine of a pool. It builds a worker with the
// factory, feeds it tasks from the queue one at a time, and rebuilds it after
// a crash. Only the slot's goroutine touches its unexported fields, except
// the atomics, what the hung watchdog reads after winning running, and nap,
// which naps hands over under its lock.
type slot[In, Out any] struct {
	w     Worker[In, Out]
	id    int
	tasks int // handled by the current worker
	// armed is set while the hung watchdog's timer is pending (see begin),
	// in the room failures had: the task path's fields keep their offsets
	// (P1 is sensitive to them).
	armed atomic.Bool
	_     [4]byte
	seq   uint64
	nap   chan bool // made at the slot's first nap (see naps), where a field of the same size was
	// uncounted is set by whoever takes the slot out of live early (idle
	// retirement or Reload); exit then leaves live alone.
	uncounted atomic.Bool
	gone      atomic.Int32  // hung slots: exit and the watchdog each add 1; the second finishes
	stop      chan struct{} // closed by halt to retire the slot after its current task
	stopOnce  sync.Once
	stopping  atomic.Bool   // set with stop, cheaper to poll between tasks
	ready     chan struct{} // Reload's fresh slots only: closed once the first worker is built
	lease     atomic.Int32  // who holds the worker: leaseOwn, leaseIdle, ... (see inline.go)
	back      chan struct{} // a borrower's token giving back a worker the slot waits for (lending pools only)
	offerAt   uint32        // the slot's entry in p.lenders
	left      chan struct{} // closed when the slot stops serving: it exited or hung
	leftOnce  sync.Once
	watch     *time.Timer // hung watchdog when TaskTimeout is set (see begin)
	idleTick  uint64      // core.tick when the slot last parked idle, 0 when busy

	// With TaskTimeout only: the running task for the hung watchdog.
	running atomic.Uint64 // seq of the running task, 0 when none, or hungMark
	since   atomic.Int64  // start of the running task as core.clock+1
	cur     *Future[Out]  // the running task's future, published by running
	stats   counters

	// A Retirer worker's answer, asked once per task (see retiring); in
	// the room a mutex had, so that the fields below keep their offsets.
	askedAt int32 // s.tasks when Retire was last asked
	retire  bool  // Retire said yes
	// resolved is set when the slot's last task had a future: resolving
	// it may have readied its caller on this processor (see park).
	resolved bool
	_        [2]byte
	// With a cancellable task running: its context, for a forced Close
	// (see cancelRunning).
	runCtx atomic.Pointer[taskCtx]

	// While a task on exec's short path is in Handle: that task's future,
	// for the recover of whoever runs it (see rescued).
	handling bool
	handled  *Future[Out]
	// returned is set when loop returns: exit finds it unset when a Handle
	// ended the slot's goroutine with runtime.Goexit.
	returned bool

	// Supervision state, at the end so that the fields the task path
	// uses keep their place in the struct.
	streak                // failures in a row, with no task completed in between
	backoff time.Duration // to wait before the next build, set by failed

	// Messages from the pool's owner (see mail.go), made by the first
	// message, and the ID of the worker the slot holds now, for Send to
	// find it (0 while none).
	mail atomic.Pointer[mailbox]
	wid  atomic.Int64

	// Pads the slot to a whole number of cache lines (320 bytes, a size
	// class of its own), so that two slots allocated side by side never
	// share a line that both their goroutines write on every task.
	retirer Retirer // s.w, when it implements Retirer
}

// start runs a new slot; the caller has already counted it in live. It
// returns nil when the pool has halted.
func (p *Pool[In, Out]) start() *slot[In, Out] { return p.launch(nil) }

// launch is start for a slot that closes ready, if not nil, once its first
// worker is built. A slot costs its goroutine plus about 600 bytes: the
// struct and the channels that every slot needs.
func (p *Pool[In, Out]) launch(ready chan struct{}) *slot[In, Out] {
	s := &slot[In, Out]{stop: make(chan struct{}), ready: ready, left: make(chan struct{}),
		offerAt: p.offers.Add(1) % lenders}
	if p.lend {
		s.back = make(chan struct{}, 1)
	}
	p.mu.Lock()
	if p.halted() || p.closing && isClosed(p.drained) {
		p.mu.Unlock()
		p.live.Add(-1)
		p.checkDrained() // Close may be waiting for this start to give up
		return nil
	}
	p.slots[s] = struct{}{}
	p.mu.Unlock()
	if p.opts.TaskTimeout > 0 {
		s.watch = time.AfterFunc(time.Hour, func() { p.watchdog(s) })
		s.watch.Stop()
	}
	go p.loop(s)
	return s
}

// loop is a slot's goroutine. An idle slot parks here, three small frames
// below the goroutine's start, rather than at the bottom of serve: the pop
// that ends its sleep may wake a producer waiting for room, and that wake
// goes deep into the runtime, where a slot that slept further down passed
// its first 2 KiB of stack and had it copied to 4 KiB (see
// TestParkedWorkerStack).
func (p *Pool[In, Out]) loop(s *slot[In, Out]) {
	defer p.exit(s)
	var w woken[In, Out]
	for ran := false; ; {
		switch p.serve(s, ran, &w) {
		case stepExit:
			s.returned = true
			return
		case stepAgain:
			ran = true
		case stepPark:
			w.t, w.st, w.leave = p.park(s)
			w.back, ran = true, false
		}
	}
}

// step is what serve and next ask their caller to do.
type step uint8

const (
	stepRun   step = iota // next: run the task returned
	stepExit              // the slot exits
	stepAgain             // serve again, first doing what follows a task
	stepPark              // the queue is empty: park, then serve again
)

// woken is what a slot brought back from parking: the task, or the
// reason it woke without one. next consumes it.
type woken[In, Out any] struct {
	t     task[In, Out]
	st    ring.Status
	leave bool
	back  bool // set when the slot has just parked
}

// serve feeds the slot's worker until the slot should exit or park, and
// says which. A task whose Handle panics on exec's short path ends serve
// with stepAgain, once rescued resolved it, and loop calls serve again with
// ran set, so that it first does what follows every task: one deferred
// recover covers every task in between, where one per task would cost more
// than a tiny task does. After a park, w holds what the slot woke with.
func (p *Pool[In, Out]) serve(s *slot[In, Out], ran bool, w *woken[In, Out]) (then step) {
	defer func() {
		if s.handling {
			v := recover()
			if v != nil && p.opts.CrashOnPanic {
				panic(v) // the process crashes, as asked, from where Handle panicked
			}
			then = stepExit
			if p.rescued(s, v) {
				then = stepAgain
			}
		}
	}()
	for {
		if ran {
			// After a task: replace a spent worker, leave if surplus.
			if p.spent(s) {
				p.recycle(s)
			}
			if p.surplus(s) {
				return stepExit
			}
		}
		// Back from parking, the slot may hold a task: next deals with
		// a missing worker then.
		if s.w == nil && !w.back && !p.build(s, false) {
			return stepExit
		}
		t, do := p.next(s, w)
		if do != stepRun {
			return do
		}
		if p.mailPending.Load() > 0 {
			p.deliver(s) // sent before t was taken: it arrives first
		}
		// A borrower may have used up or lost the worker while the slot
		// was parked (see giveBack): t is taken, so build one to run it.
		// Only a halted pool refuses, and exec then resolves t without it.
		if p.spent(s) {
			p.recycle(s)
		}
		if s.w == nil {
			p.build(s, true)
		}
		if !p.exec(s, t) {
			return stepExit
		}
		ran = true
	}
}

// restock starts a slot in place of one that left abnormally (hung, or
// ended by runtime.Goexit) if fewer than MinWorkers are left, or else one
// for queued work.
func (p *Pool[In, Out]) restock() {
	if l := p.live.Load(); l < p.min.Load() && p.live.CompareAndSwap(l, l+1) {
		p.start()
	} else {
		p.maybeSpawn()
	}
}

// rescued resolves the task that left exec's short path in the middle of
// Handle. v is what recover returned in the deferred function that calls
// rescued. A panic (v != nil) resolves the task with a *PanicError, the
// worker is dealt with as for any panic, and rescued reports true. With v
// nil, Handle called runtime.Goexit, which goes on ending the goroutine
// (the slot's, or an inline Run's caller's; see goexited), and rescued
// reports false.
func (p *Pool[In, Out]) rescued(s *slot[In, Out], v any) bool {
	s.handling = false
	s.tasks++
	if v == nil {
		p.goexited(s, s.handled)
		return false
	}
	r := panics.NewRecovered(2, v)
	p.outcome(s, s.handled, *new(Out), nil, &PanicError{Value: v, Stack: r.Stack}, false)
	return true
}

// goexited fails the task f whose Handle called runtime.Goexit, and treats
// its worker, whose state is unknown, as crashed: it is closed, counts
// against the restart policy, and is rebuilt by its slot, or replaced if
// the Goexit ended the slot's own goroutine (see exit).
func (p *Pool[In, Out]) goexited(s *slot[In, Out], f *Future[Out]) {
	err := fmt.Errorf("%s: worker %d: Handle called runtime.Goexit", head(p.opts.Name), s.id)
	p.crash(s, err, func() { p.settle(s, f, *new(Out), err, &s.stats.failed) })
}

// build makes a worker with the factory, backing off after consecutive
// failures. It reports false when the slot should exit instead. A slot that
// holds a task keeps trying until the pool halts, whatever else happens.
func (p *Pool[In, Out]) build(s *slot[In, Out], holding bool) bool {
	for {
		if !p.pause(s, holding) {
			return false
		}
		if p.halted() || !holding && s.failures > 0 && p.state.Load() == stateClosing && p.queued() == 0 {
			return false // nothing left to drain: do not retry a failing factory
		}
		s.id = int(p.nextID.Add(1))
		info := WorkerInfo{ID: s.id, Pool: p.opts.Name, messages: p.msgs, crashed: p.crashed(s, s.id)}
		w, err := p.newWorker(info)
		if err == nil {
			s.w, s.tasks = w, 0
			s.retirer, _ = w.(Retirer)
			s.askedAt, s.retire = 0, false
			s.wid.Store(int64(s.id))
			p.emit(WorkerStarted, s.id, nil)
			if s.ready != nil && !isClosed(s.ready) {
				close(s.ready)
			}
			return true
		}
		err = describe(head(p.opts.Name), fmt.Sprintf("worker %d: factory", s.id), nil, err)
		if !p.failed(s, err) {
			return false
		}
	}
}

// pause waits the slot's backoff before a rebuild, and reports false when the
// slot should exit instead: the pool halted, the slot was asked to stop, or
// Close began with nothing queued for the slot to drain. Close never waits
// for a backoff.
func (p *Pool[In, Out]) pause(s *slot[In, Out], holding bool) bool {
	d := s.backoff
	if d <= 0 {
		return true
	}
	s.backoff = 0
	stop, closing := s.stop, p.closeBegun
	if holding {
		stop, closing = nil, nil // the task held must run
	}
	p.emitEvent(Event{Kind: WorkerBackoff, Worker: s.id, Delay: d})
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-p.halt:
			return false
		case <-stop:
			return false
		case <-closing:
			if p.queued() == 0 {
				return false
			}
			closing = nil // the queue must drain: rebuild after the backoff
		}
	}
}

// newWorker calls the factory, turning a panic into an error.
func (p *Pool[In, Out]) newWorker(info WorkerInfo) (w Worker[In, Out], err error) {
	if r := panics.Try(func() { w, err = p.factory(p.life, info) }); r != nil {
		return nil, &PanicError{Value: r.Value, Stack: r.Stack}
	}
	if err == nil && w == nil {
		err = fmt.Errorf("factory returned a nil worker")
	}
	return w, err
}

// failed records a crash or factory failure of s and reports whether the
// restart policy allows another try; when it does not, the pool fails.
func (p *Pool[In, Out]) failed(s *slot[In, Out], err error) bool {
	d, loop := s.next(p.opts.Restart)
	p.restarts.Add(1)
	p.emit(WorkerRestarted, s.id, err)
	if loop {
		p.fail(s.loopError(head(p.opts.Name), p.opts.Restart, err))
		return false
	}
	if !p.window.allow(p.opts.Restart, time.Now()) {
		p.fail(limitError(head(p.opts.Name), p.opts.Restart, err))
		return false
	}
	s.backoff = d
	return true
}

// next returns the next task, with stepRun. It returns stepPark when the
// queue is empty, for loop to park the slot, and it is called again with
// what the slot woke with in w. It returns stepExit when the slot should
// exit: the queue is closed and drained, the slot was asked to stop, the
// pool has more slots than it needs, or the slot idled past IdleTimeout.
func (p *Pool[In, Out]) next(s *slot[In, Out], w *woken[In, Out]) (task[In, Out], step) {
	for {
		var t task[In, Out]
		var st ring.Status
		if w.back {
			t, st = w.t, w.st
			leave := w.leave
			*w = woken[In, Out]{}
			if leave {
				return t, stepExit
			}
			if st == ring.Canceled {
				// Nudged, or a borrower handed the worker back used up.
				p.recycle(s)
				if s.w == nil && !p.build(s, false) {
					return t, stepExit
				}
				if p.mailPending.Load() > 0 {
					p.deliver(s) // Send nudged
					if s.w == nil && !p.build(s, false) {
						return t, stepExit // a Receive crashed it, and the pool halted
					}
				}
				continue // look at the pool again
			}
		} else {
			if p.held.n.Load() > 0 {
				if t, ok := p.takeHeld(); ok {
					s.idleTick = 0
					return t, stepRun
				}
			}
			if t, st = p.poll(); st == ring.Empty {
				return t, stepPark
			}
		}
		if st != ring.OK {
			// The buffer is closed: drain the rest.
			if t, ok := p.popOverflow(); ok {
				return t, stepRun
			}
			return t, stepExit
		}
		if p.ovf.n.Load() > 0 {
			p.refill()
		}
		if p.held.n.Load() > 0 {
			t = p.swapHeld(t) // held tasks are older than anything queued
		}
		s.idleTick = 0
		return t, stepRun
	}
}

// park waits for a task as an idle slot, called by loop (see there). It
// reports leave when the slot should exit without looking at the queue
// again. The slot sleeps in one channel receive, a few small frames below
// its loop, so that a parked worker keeps the smallest goroutine stack
// (see TestParkedWorkerStack).
func (p *Pool[In, Out]) park(s *slot[In, Out]) (t task[In, Out], st ring.Status, leave bool) {
	if s.idleTick == 0 {
		s.idleTick = p.tick.Load()
	}
	yield := s.resolved // read before a Run may borrow the worker and write it
	// Count the nudges before looking at the pool: a nudge after the look
	// wakes the slot, and one before it changed what leaving sees.
	nudged := p.queue.Interrupts()
	if p.leaving(s) {
		return t, ring.Closed, true
	}
	if p.held.n.Load() > 0 {
		// Handed on by a lent slot (see hold) after next looked, and
		// the nudge that hold sends may have gone before nudged was
		// taken: take it rather than sleep on it.
		return t, ring.Canceled, false
	}
	if p.mailPending.Load() > 0 && s.mailbox().waiting() {
		// Sent after serve looked, and its nudge may have gone before
		// nudged was taken: deliver it rather than sleep on it.
		return t, ring.Canceled, false
	}
	p.idle.Add(1)
	if p.lend {
		s.lease.Store(leaseIdle) // from here on a Run may borrow the worker
		p.offer(s)
	}
	// The slot sleeps in one channel receive: napping in enter until a
	// place in the queue is free (see naps), or in the queue's
	// PopTagUnless. Either returns Canceled when nudge was called after
	// Interrupts returned nudged. Before it sleeps in the queue, the slot
	// yields its processor only if yield
	// says its last task had a future: resolving it readied the caller,
	// often on this processor, who may queue the next task at once (Run
	// and Submit callers). After a fire-and-forget task nobody was
	// readied, and a slot that yields only competes with the producer for
	// a processor, which made P1's tiny tasks cost up to four times the
	// channel pool's.
	st = ring.Canceled
	if p.enter(s, nudged) {
		var e entry[In, Out]
		var enq uint32
		e, enq, st = p.queue.PopTagUnless(nudged, yield)
		t = task[In, Out]{e.in, e.fut, enq}
		p.leave()
	}
	if !p.lend {
		p.idle.Add(-1)
	} else {
		// With a task in hand, settle who has the worker before reclaim
		// can wait for it: take it back at once if it is idle (were it
		// only looked at, a Run could borrow it in between), or pass the
		// task on if it is lent rather than hold it until the borrower is
		// done. A borrower may give the worker back idle between the two
		// looks, and another may borrow it again: look again then.
	settle:
		for st == ring.OK {
			switch s.lease.Load() {
			case leaseIdle:
				if s.lease.CompareAndSwap(leaseIdle, leaseOwn) {
					p.idle.Add(-1)
					break settle
				}
			case leaseLent:
				p.hold(t)
				t, st = task[In, Out]{}, ring.Canceled
			default: // leaseOwn: handed back owned (see giveBack)
				break settle
			}
		}
		p.reclaim(s)
	}
	if st == ring.OK {
		// Submitters skip spawning while a slot is idle; this slot was
		// counted as idle, so look again for work it leaves behind.
		p.maybeSpawn()
	}
	return t, st, false
}

// leaving reports whether a slot about to park should exit instead.
func (p *Pool[In, Out]) leaving(s *slot[In, Out]) bool {
	return p.surplus(s) || p.tick.Load()-s.idleTick >= 2 && p.retire(s)
}

// nudge wakes every parked slot, so that each looks at the pool again
// (after Resize, Reload or an idle tick).
func (p *Pool[In, Out]) nudge() {
	p.queue.Interrupt()
	p.wakeNappers()
}

// idleTick advances the idle clock every IdleTimeout and wakes the idle
// slots so that those idle for a whole tick retire.
func (p *Pool[In, Out]) idleTick() {
	p.tick.Add(1)
	if p.idle.Load() > 0 && p.live.Load() > p.min.Load() {
		p.nudge()
	}
}

// retire takes s out of live if that leaves at least MinWorkers.
func (p *Pool[In, Out]) retire(s *slot[In, Out]) bool {
	if !s.uncounted.CompareAndSwap(false, true) {
		return true // Reload already took it out
	}
	for {
		l := p.live.Load()
		if l <= p.min.Load() {
			s.uncounted.Store(false)
			return false
		}
		if p.live.CompareAndSwap(l, l-1) {
			return true
		}
	}
}

// surplus reports whether s should exit because it was asked to stop or the
// pool has more slots than its limit (after Resize or Reload).
func (p *Pool[In, Out]) surplus(s *slot[In, Out]) bool {
	return s.stopping.Load() || p.live.Load() > p.limit() && p.retire(s)
}

// spent reports whether the slot's worker is due for replacement: it
// reached MaxTasksPerWorker, or, being a Retirer, asked to retire.
func (p *Pool[In, Out]) spent(s *slot[In, Out]) bool {
	n := p.opts.MaxTasksPerWorker
	return n > 0 && s.w != nil && s.tasks >= n || s.retirer != nil && s.retiring()
}

// retiring asks a Retirer worker, once per task it ran, whether it should
// be replaced, and remembers a yes.
func (s *slot[In, Out]) retiring() bool {
	if s.retire || s.w == nil || int32(s.tasks) == s.askedAt {
		return s.retire && s.w != nil
	}
	s.askedAt = int32(s.tasks)
	s.retire = s.retirer.Retire()
	return s.retire
}

// recycle replaces a worker that is spent: it is closed here and the slot
// builds a fresh one before its next task. The slot's loop checks spent,
// which inlines, before calling it.
func (p *Pool[In, Out]) recycle(s *slot[In, Out]) {
	if p.spent(s) {
		p.recycled.Add(1)
		p.emit(WorkerRecycled, s.id, nil)
		p.discard(s, nil)
	}
}

// discard closes the slot's worker; the next loop builds a fresh one.
func (p *Pool[In, Out]) discard(s *slot[In, Out], why error) {
	_ = closeWorker(p.life, s.w)
	s.w = nil
	s.wid.Store(0)
	p.emit(WorkerExited, s.id, why)
}

// exit runs when the slot's goroutine ends.
func (p *Pool[In, Out]) exit(s *slot[In, Out]) {
	// exitMark tells the watchdog the slot is gone, before its timer is
	// stopped: a firing already under way then neither declares the slot
	// hung nor re-arms the timer (see watchdog).
	hung := !s.markExited()
	if s.watch != nil {
		s.watch.Stop()
	}
	p.lenders[s.offerAt].CompareAndSwap(s, nil)
	if s.w != nil {
		p.discard(s, nil)
	}
	p.dropMail(s)
	if s.uncounted.CompareAndSwap(false, true) {
		p.live.Add(-1)
	}
	switch {
	case !s.returned && !hung:
		p.restock() // a Handle ended the goroutine with runtime.Goexit
	case !hung:
		p.maybeSpawn() // a task may have arrived as this slot left
	}
	if !hung || s.gone.Add(1) == 2 {
		p.finish(s)
	}
	s.leave()
}

// finish removes an exited slot from the books and signals Close.
func (p *Pool[In, Out]) finish(s *slot[In, Out]) {
	p.mu.Lock()
	delete(p.slots, s)
	delete(p.hung, s)
	p.retired.add(&s.stats)
	p.mu.Unlock()
	p.checkDrained()
}

// checkDrained signals Close once it began and no slot is left. A slot that
// is counted in live but whose start has not registered it yet counts too:
// without it, Close could find no slot while that start was on its way and
// return with tasks queued that nothing would run.
func (p *Pool[In, Out]) checkDrained() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing && len(p.slots) == 0 && p.live.Load() == 0 && !isClosed(p.drained) {
		close(p.drained)
	}
}

// exec runs one task on the slot's worker and resolves it. It reports false
// when the task was declared hung, which detaches the slot's goroutine.
func (p *Pool[In, Out]) exec(s *slot[In, Out], t task[In, Out]) bool {
	f := t.fut
	s.resolved = f != nil
	if f != nil && f.ctx != nil && !f.start() {
		return true // its caller gave up while it was queued
	}
	if p.halted() {
		p.forced.Add(1)
		p.settle(s, f, *new(Out), p.stateErr(), &s.stats.canceled)
		return true
	}
	if t.enq == 0 && s.watch == nil && (f == nil || f.ctx == nil) {
		// The short path: not timed, no deadline, no ctx of its own, the
		// common case. A panic in Handle leaves exec, and whoever called
		// it resolves the task (see serve and runLent).
		s.handling, s.handled = true, f
		out, err := s.w.Handle(p.wctx, t.in)
		s.handling = false
		s.tasks++
		if err == nil && f == nil { // outcome's plain success, spelt out
			s.failures = 0
			// Only the worker's holder counts its tasks: a load and a
			// store, which cost less than an atomic add.
			n := &s.stats.completed
			n.Store(n.Load() + 1)
			return true
		}
		p.outcome(s, f, out, err, nil, false)
		return true
	}
	return p.execFull(s, t)
}

// execFull is exec's long path: for a task that is timed for the
// histograms, has a deadline, or has a ctx of its own.
func (p *Pool[In, Out]) execFull(s *slot[In, Out], t task[In, Out]) bool {
	f := t.fut
	if f != nil && f.ctx != nil && f.ctx.Err() != nil {
		p.settle(s, f, *new(Out), f.ctx.Err(), &s.stats.canceled)
		return true
	}
	var start time.Duration
	sampled := t.enq != 0
	if sampled || p.opts.TaskTimeout > 0 {
		start = p.clock()
	}
	if sampled {
		p.lat.shard(s.offerAt).wait.Record(time.Duration(stamp(start)-t.enq) * time.Microsecond)
	}
	ctx, tc := p.taskContext(s, f, start)
	release := func() {
		if tc != nil {
			s.watchRun(nil)
			tc.finish(true)
		}
	}
	seq := s.begin(f, start, p.opts.TaskTimeout) // the watchdog looks first at the deadline
	returned := false
	defer func() {
		if !returned {
			if v := recover(); v != nil {
				panic(v) // CrashOnPanic: invoke let it through to crash
			}
			// Handle called runtime.Goexit, which goes on ending the
			// goroutine: release what the task holds and fail it,
			// unless the hung watchdog resolved it already.
			release()
			if s.end(seq) {
				s.tasks++
				p.goexited(s, f)
			}
		}
	}()
	out, pe, err := p.invoke(s.w, ctx, t.in)
	returned = true
	timedOut := false
	if tc != nil {
		s.watchRun(nil)
		timedOut = tc.finish(err != nil || pe != nil)
	}
	if !s.end(seq) {
		return false
	}
	if sampled && (err == nil || !errors.Is(err, ErrShed)) { // a shed task never ran: its time is no run time
		elapsed := p.clock() - start
		sh := p.lat.shard(s.offerAt)
		sh.run.Record(elapsed)
		sh.runNanos.Add(uint64(elapsed) * p.weight())
		p.observeRun(elapsed)
		p.lat.sampledOne()
	}
	s.tasks++
	p.outcome(s, f, out, err, pe, timedOut)
	return true
}

// outcome resolves a finished task and deals with its worker.
func (p *Pool[In, Out]) outcome(s *slot[In, Out], f *Future[Out], out Out, err error, pe *PanicError, timedOut bool) {
	switch {
	case pe != nil && p.stateless:
		p.settle(s, f, out, pe, &s.stats.panicked)
	case pe != nil:
		p.crash(s, pe, func() { p.settle(s, f, out, pe, &s.stats.panicked) })
	case err != nil && IsFatal(err) && !p.stateless:
		// A fatal error wins over a timeout: the worker said it cannot
		// go on (a process worker killed at its deadline, say), so it is
		// rebuilt and counts against the policy either way.
		n := &s.stats.failed
		var pe *PanicError
		switch {
		case timedOut:
			err, n = fmt.Errorf("%w: %w", ErrTimeout, err), &s.stats.timedOut
		case errors.As(err, &pe):
			n = &s.stats.panicked // a panic reported by a worker kind, such as a process worker's child
		}
		p.crash(s, err, func() { p.settle(s, f, out, err, n) })
	case err != nil && timedOut:
		p.settle(s, f, out, fmt.Errorf("%w: %w", ErrTimeout, err), &s.stats.timedOut)
	case err != nil && errors.Is(err, ErrShed):
		p.settle(s, f, out, err, &s.stats.canceled) // it declined to run

	case err != nil:
		p.settle(s, f, out, err, &s.stats.failed)
	default:
		s.failures = 0
		p.settle(s, f, out, nil, &s.stats.completed)
	}
}

// crash discards a worker whose state cannot be trusted. The restart policy
// is applied before resolve reports the task, so that its caller sees the
// pool failed if the policy gave up; the worker is closed after, so that the
// caller does not wait for it.
func (p *Pool[In, Out]) crash(s *slot[In, Out], err error, resolve func()) {
	w := s.w
	s.w = nil
	s.wid.Store(0)
	p.emit(WorkerExited, s.id, err)
	p.failed(s, err) // if the pool failed, the next build sees it halted
	resolve()
	_ = closeWorker(p.life, w)
}

// settle resolves f (or reports a fire-and-forget error) and counts the
// outcome.
func (p *Pool[In, Out]) settle(s *slot[In, Out], f *Future[Out], out Out, err error, n *atomic.Uint64) {
	n.Add(1)
	if f != nil && !f.detached() {
		f.resolve(out, err)
		return
	}
	if err != nil {
		p.opts.OnError(err)
	}
}

// invoke calls Handle, turning a panic into a *PanicError unless the user
// asked panics to crash the process.
func (p *Pool[In, Out]) invoke(w Worker[In, Out], ctx context.Context, in In) (out Out, pe *PanicError, err error) {
	if p.opts.CrashOnPanic {
		out, err = w.Handle(ctx, in)
		return out, nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			r := panics.NewRecovered(1, v)
			pe = &PanicError{Value: v, Stack: r.Stack}
		}
	}()
	out, err = w.Handle(ctx, in)
	return out, nil, err
}

// errDeadline is the cause of a task context that passed TaskTimeout.
var errDeadline = fmt.Errorf("%w (TaskTimeout)", context.DeadlineExceeded)

// taskContext returns the context a task runs with: cancelled when the
// submitter's ctx ends, when Close gives up waiting, and at TaskTimeout, and
// the taskCtx to release once the task returns (nil when there is nothing
// to release). start is when the task starts, by p.clock(), with a
// TaskTimeout. A task with neither a cancellable ctx nor a timeout shares
// the pool's context and costs nothing. Any other gets a taskCtx,
// registered with its slot so that a forced Close reaches it (see
// cancelRunning) without a callback registered on the pool's context for
// every task.
func (p *Pool[In, Out]) taskContext(s *slot[In, Out], f *Future[Out], start time.Duration) (context.Context, *taskCtx) {
	parent := p.wctx
	if f != nil && f.ctx != nil {
		parent = f.ctx
	} else if p.opts.TaskTimeout == 0 {
		return p.wctx, nil
	}
	var due time.Duration
	if p.opts.TaskTimeout > 0 {
		due = start + p.opts.TaskTimeout
	}
	var tc *taskCtx
	if f != nil && !f.signal {
		tc = &f.tctx
		tc.parent = parent
		tc.init(p.core, due)
	} else {
		tc = newTaskCtx(parent, p.core, due) // Run reuses f: the task's ctx must outlive it
	}
	s.watchRun(tc)
	// A forced Close kills life before it walks the slots: either it
	// finds this task registered, or the task sees life ended here.
	if p.life.Err() != nil {
		tc.end(context.Cause(p.life))
	}
	return tc, tc
}

// watchRun registers the context of the task the slot is running, or
// clears it with nil.
func (s *slot[In, Out]) watchRun(tc *taskCtx) {
	s.runCtx.Store(tc)
}

// cancelRunning cancels the context of every task running now, with the
// cause that ended the pool's life; forced Close calls it after killing life.
func (p *Pool[In, Out]) cancelRunning() {
	cause := context.Cause(p.life)
	var running []*taskCtx
	p.mu.Lock()
	for _, set := range []map[*slot[In, Out]]struct{}{p.slots, p.hung} {
		for s := range set {
			if tc := s.runCtx.Load(); tc != nil {
				running = append(running, tc)
			}
		}
	}
	p.mu.Unlock()
	// Cancel with no lock held: cancelling runs the caller's Context
	// methods. A context whose task ended meanwhile is cancelled already.
	for _, tc := range running {
		tc.end(cause)
	}
}

// begin publishes the task that starts now and makes sure the hung
// watchdog will look at it. It costs nothing without TaskTimeout, when
// there is no watchdog.
//
// The watchdog's timer is not reset and stopped for every task, which cost
// two operations on the timer heap per task: begin arms it only when it is
// not pending, and when it fires for a task that ended, it re-arms itself
// for the task running then, or disarms if none is (see watchdog).
func (s *slot[In, Out]) begin(f *Future[Out], start, limit time.Duration) uint64 {
	if s.watch == nil {
		return 0
	}
	s.seq++
	s.cur = f
	s.since.Store(int64(start) + 1)
	s.running.Store(s.seq)
	if !s.armed.Load() && s.armed.CompareAndSwap(false, true) {
		s.watch.Reset(limit)
	}
	return s.seq
}

// end reports whether the task finished before the watchdog declared it
// hung.
func (s *slot[In, Out]) end(seq uint64) bool {
	if s.watch == nil {
		return true
	}
	return s.running.CompareAndSwap(seq, 0)
}

// watchdog runs when the task running when its timer was armed may have
// passed TaskTimeout, or TaskTimeout plus HungGrace. A task past its
// deadline has its context ended then, as a context.WithDeadline would
// end it, so that a kept ctx of a task that returns later reports
// context.DeadlineExceeded (see taskCtx.expire). If a task runs now, it
// re-arms the timer for the next of those moments for that task, and no
// later than TaskTimeout from now once that task is past its deadline, so
// that a task starting after it returns is looked at by its own deadline;
// if none runs, it disarms the timer, and the next begin arms it again.
func (p *Pool[In, Out]) watchdog(s *slot[In, Out]) {
	limit := p.opts.TaskTimeout + p.opts.HungGrace
	var ran time.Duration
	for {
		seq := s.running.Load()
		if seq == hungMark || seq == exitMark {
			return
		}
		if seq == 0 {
			// Disarm. A task that began before the store may have found
			// the timer armed and left it to this firing: take it back
			// unless that begin armed the timer itself.
			s.armed.Store(false)
			if s.running.Load() == 0 || !s.armed.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		// since is stored before running: it is this task's start or a
		// later one's, which only delays the verdict to the next look.
		if ran = p.clock() - time.Duration(s.since.Load()-1); ran < limit {
			next := limit - ran
			if ran < p.opts.TaskTimeout {
				next = p.opts.TaskTimeout - ran
			} else {
				if tc := s.runCtx.Load(); tc != nil {
					tc.expire()
				}
				// Look again within TaskTimeout, not only when this task
				// would be hung: a task that starts once it returns has
				// its deadline before then, and begin leaves the pending
				// timer alone.
				next = min(next, p.opts.TaskTimeout)
			}
			s.watch.Reset(next)
			if s.running.Load() == exitMark {
				s.watch.Stop() // exit stopped the timer before this Reset
			}
			return
		}
		if s.running.CompareAndSwap(seq, hungMark) {
			break
		}
		// The task ended meanwhile: look at what runs now.
	}
	err := describe(head(p.opts.Name), fmt.Sprintf("worker %d hung: task ignored cancellation for %v",
		s.id, ran.Round(time.Millisecond)), nil, ErrTimeout)
	// Account for the hang before the task's caller hears of it, so that
	// Stats and the pool's state already show it.
	p.hungTotal.Add(1)
	p.emit(WorkerHung, s.id, err)
	p.mu.Lock()
	delete(p.slots, s)
	p.hung[s] = struct{}{}
	p.mu.Unlock()
	if s.uncounted.CompareAndSwap(false, true) {
		p.live.Add(-1)
	}
	s.leave()
	allowed := p.window.allow(p.opts.Restart, time.Now())
	if allowed {
		p.restarts.Add(1)
	} else {
		p.fail(limitError(head(p.opts.Name), p.opts.Restart, err))
	}
	p.settle(s, s.cur, *new(Out), err, &s.stats.timedOut)
	if allowed {
		p.restock()
	}
	if s.gone.Add(1) == 2 {
		p.finish(s)
	}
	p.checkDrained()
}

// halt asks the slot to retire after its current task.
func (s *slot[In, Out]) halt() {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		close(s.stop)
	})
}

// leave marks that the slot no longer serves the queue.
func (s *slot[In, Out]) leave() { s.leftOnce.Do(func() { close(s.left) }) }

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
