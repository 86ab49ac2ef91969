// Package ring is a bounded multi-producer, multi-consumer FIFO queue: the
// buffer under messaging.Port and the pool's task queue.
//
// A Go channel guards its buffer with one lock that every sender and
// receiver takes, so under load they queue up on it. Here producers and
// consumers meet only in the cell they hand an item through: a push claims a
// position with one compare-and-swap on the tail and publishes the item by
// stamping its cell; a pop does the same on the head. Closing sets a bit in
// the tail word, so a push can never land after Close, and the tail and head
// positions double as exact push and pop counters. Waiting is done on
// channels only when the ring is empty (for Pop) or full (for Push).
package ring

import (
	"fmt"
	"math/bits"
	"runtime"
	"sync/atomic"
)

// Status is the outcome of a ring operation.
type Status uint8

const (
	// OK means the item was pushed or popped.
	OK Status = iota
	// Empty means TryPop found nothing to take.
	Empty
	// Full means TryPush found no room.
	Full
	// Closed means the ring was closed (push), or closed and drained (pop).
	Closed
	// Canceled means the cancel channel of Push or Pop was closed first.
	Canceled
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Empty:
		return "empty"
	case Full:
		return "full"
	case Closed:
		return "closed"
	case Canceled:
		return "canceled"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// closedBit is set in the tail word by Close.
const closedBit = 1 << 63

// cell holds one item. The low 31 bits of its stamp say whose turn it is,
// as the low 31 bits of a position: p means the cell is free for the push at
// position p; p+1 means it holds the item pushed at p, ready for the pop at
// p. Turns only guide; the head and tail compare-and-swaps on full 64-bit
// positions decide, so a turn that matches by wrapping around 2^31 is
// harmless. Bit 31 is waitBit; the high half carries the item's tag (see
// TryPushTag).
type cell[T any] struct {
	stamp atomic.Uint64
	val   T
}

// waitBit in a stamp marks a full cell that a sleeping Push waits for: the
// pop that empties the cell wakes one. Pops learn about sleeping Pushes from
// the stamp they read anyway, instead of from a counter that the Pushes
// write and every pop would have to read.
const waitBit = 1 << 31

// turn returns the turn bits of a stamp.
func turn(stamp uint64) uint32 { return uint32(stamp) &^ waitBit }

// turnOf returns the turn of position p.
func turnOf(p uint64) uint32 { return uint32(p) &^ waitBit }

// line keeps the fields after it off the cache line of the fields before.
type line [64]byte

// Ring is a bounded FIFO queue safe for any number of concurrent producers
// and consumers. A position is a lap number and a cell index packed as
// lap<<shift | index; its count of items before it is lap*cap + index.
type Ring[T any] struct {
	buf      []cell[T]
	cap      uint64
	oneLap   uint64 // 1 << shift
	shift    uint
	done     chan struct{} // closed by Close
	pushWake chan struct{} // a token: room, or the close, may be waiting for a sleeping Push
	// stall is set by tests only: it runs between claiming a position and
	// finishing its cell, with true for a push, to stop one right there.
	stall atomic.Pointer[func(push bool)]

	_       line
	head    atomic.Uint64 // next position to pop, with closedBit once sealed
	_       line
	tail    atomic.Uint64 // next position to push, with closedBit
	_       line
	pops    atomic.Pointer[sleepers] // where Pops sleep; replaced by Interrupt
	_       line
	pushers atomic.Int32 // Pushes asleep or about to sleep
	_       line
	yielder atomic.Bool // a Pop is yielding before it sleeps (see PopTag)
	_       line
}

// MaxCapacity is the largest capacity New accepts: a cell's turn has 31
// bits (see cell), which must tell apart the positions of two laps.
const MaxCapacity = 1 << 30

// New returns an open ring that holds up to capacity items. It panics if
// capacity is below 1 or above MaxCapacity.
func New[T any](capacity int) *Ring[T] {
	if capacity < 1 || capacity > MaxCapacity {
		panic(fmt.Sprintf("ring: capacity must be between 1 and %d, got %d", MaxCapacity, capacity))
	}
	// A cell's stamps must tell "holds the item of position p" (p+1) from
	// "free for position p+oneLap", so a lap is at least 2 positions.
	shift := max(1, uint(bits.Len64(uint64(capacity)-1)))
	r := &Ring[T]{
		buf:      make([]cell[T], capacity),
		cap:      uint64(capacity),
		oneLap:   1 << shift,
		shift:    shift,
		done:     make(chan struct{}),
		pushWake: make(chan struct{}, 1),
	}
	for i := range r.buf {
		r.buf[i].stamp.Store(uint64(uint32(i)))
	}
	r.pops.Store(&sleepers{wake: make(chan struct{}, 1)})
	return r
}

// advance returns the position after p.
func (r *Ring[T]) advance(p uint64) uint64 {
	if p&(r.oneLap-1)+1 < r.cap {
		return p + 1
	}
	return p&^(r.oneLap-1) + r.oneLap // next lap, index 0
}

// TryPush appends v if there is room. It returns OK, Full or Closed and
// never waits, except for a moment while a pop is freeing the cell it needs.
func (r *Ring[T]) TryPush(v T) Status { return r.TryPushTag(v, 0) }

// TryPushTag is TryPush for an item with a tag: 32 bits that travel with it
// in its cell's stamp word, so that they cost no memory (see TryPopTag).
func (r *Ring[T]) TryPushTag(v T, tag uint32) Status { return r.tryPush(v, tag, forever) }

// OfferTag is TryPushTag that does not wait for a pop that is freeing the
// cell it needs: after a few looks (see patience) it reports Full, and
// PushTag, called next, sleeps until that pop is done. It suits a producer
// that waits for room anyway.
func (r *Ring[T]) OfferTag(v T, tag uint32) Status { return r.tryPush(v, tag, patience) }

// tryPush is TryPushTag, giving up on a cell a pop is freeing after the
// given number of looks.
func (r *Ring[T]) tryPush(v T, tag uint32, looks int) Status {
	last := ^uint64(0)
	for spins := 0; ; spins++ {
		t := r.tail.Load()
		if t != last {
			// Another push moved the tail: that is progress, not a
			// stalled pop, so the looks that lead to a yield (see
			// pause) start again.
			last, spins = t, 0
		}
		if t&closedBit != 0 {
			return Closed
		}
		c := &r.buf[t&(r.oneLap-1)]
		switch s := turn(c.stamp.Load()); {
		case s == turnOf(t):
			if r.tail.CompareAndSwap(t, r.advance(t)) {
				if f := r.stall.Load(); f != nil {
					(*f)(true)
				}
				c.val = v
				c.stamp.Store(uint64(tag)<<32 | uint64(turnOf(t+1)))
				if q := r.pops.Load(); q.n.Load() > 0 {
					wake(q.wake)
				}
				return OK
			}
			continue // another push took t: retry at once
		case r.heldOver(s, t) && (looks >= 0 && spins >= looks || r.head.Load()+r.oneLap == t):
			// The cell still holds the item pushed a lap ago, and no pop
			// claimed it, or the pop that did is slow to finish.
			return Full
		}
		pause(spins) // a pop is freeing the cell, or the tail moved
	}
}

// patience is how many times OfferTag and PollTag, and Push and Pop, look
// again at a cell that the other side is in the middle of before they
// report Full or Empty. That side may have been preempted right there, by
// the Go scheduler or by the operating system; a Push or Pop that sleeps is
// woken when it is done (see mark and PopTag), where one that kept looking
// would hold a processor the other side may need. TryPush and TryPop look
// until it is done (forever), so that Full and Empty keep their plain
// meaning for callers that act on them, such as a DropOldest port.
const (
	patience = 4
	forever  = -1
)

// heldOver reports whether a cell whose turn is s, the cell of tail
// position t, still holds the item pushed a lap before t.
func (r *Ring[T]) heldOver(s uint32, t uint64) bool {
	return (s+uint32(r.oneLap))&^waitBit == turnOf(t+1)
}

// mark sets waitBit on the cell the next push needs if it still holds an
// item, and reports whether it did: the pop that empties the cell will wake
// a sleeping Push. It reports false if there is room or the ring is closed.
func (r *Ring[T]) mark() bool {
	for spins := 0; ; spins++ {
		t := r.tail.Load()
		if t&closedBit != 0 {
			return false
		}
		c := &r.buf[t&(r.oneLap-1)]
		stamp := c.stamp.Load()
		switch s := turn(stamp); {
		case s == turnOf(t):
			return false
		case r.heldOver(s, t):
			if stamp&waitBit != 0 || c.stamp.CompareAndSwap(stamp, stamp|waitBit) {
				return true
			}
			continue // popped meanwhile: look again
		}
		pause(spins)
	}
}

// TryPop removes and returns the oldest item. It returns OK, Empty, or
// Closed once the ring is closed and every pushed item was popped. It never
// waits, except for a moment while a push is filling the cell it needs.
func (r *Ring[T]) TryPop() (T, Status) {
	v, _, st := r.TryPopTag()
	return v, st
}

// TryPopTag is TryPop that also returns the item's tag: 0 unless it was
// pushed by TryPushTag or PushTag. After Seal it returns Closed.
func (r *Ring[T]) TryPopTag() (T, uint32, Status) { return r.tryPop(forever) }

// PollTag is TryPopTag that does not wait for a push that is filling the
// cell it needs: after a few looks (see patience) it reports Empty, and
// PopTag, called next, sleeps until that push is done. It suits a consumer
// that sleeps anyway when the ring is empty.
func (r *Ring[T]) PollTag() (T, uint32, Status) { return r.tryPop(patience) }

// tryPop is TryPopTag, giving up on a cell a push is filling after the
// given number of looks.
func (r *Ring[T]) tryPop(looks int) (T, uint32, Status) {
	last := ^uint64(0)
	for spins := 0; ; spins++ {
		h := r.head.Load()
		if h != last {
			// Another pop moved the head: progress, not a stalled push.
			// Counting it as a look made two consumers that race for
			// the head yield their processors to each other.
			last, spins = h, 0
		}
		if h&closedBit != 0 { // sealed: Seal takes what is left
			var zero T
			return zero, 0, Closed
		}
		c := &r.buf[h&(r.oneLap-1)]
		stamp := c.stamp.Load()
		switch s := turn(stamp); {
		case s == turnOf(h+1):
			if r.head.CompareAndSwap(h, r.advance(h)) {
				if f := r.stall.Load(); f != nil {
					(*f)(false)
				}
				v := c.val
				var zero T
				c.val = zero // let the item be collected
				if c.stamp.Swap(uint64(turnOf(h+r.oneLap)))&waitBit != 0 {
					wake(r.pushWake) // a Push sleeps until this cell is free
				}
				return v, uint32(stamp >> 32), OK
			}
			continue // another pop took h: retry at once
		case s == turnOf(h) || r.heldOver(s, h):
			// The cell is free for the push at h, or still holds the
			// item of a lap ago, whose pop has not finished: with the
			// tail at h, no push is filling it and the ring is empty.
			// The second happens when every other item went round while
			// that pop was preempted; waiting for it would only keep
			// the processor it needs.
			if t := r.tail.Load(); t&^closedBit == h || looks >= 0 && spins >= looks {
				var zero T
				if t == h|closedBit {
					return zero, 0, Closed
				}
				return zero, 0, Empty
			}
		}
		pause(spins) // a push is filling the cell, or the head moved
	}
}

// Push appends v, waiting while the ring is full. It returns OK, Closed if
// the ring is closed before v fits, or Canceled if cancel is closed first. A
// nil cancel never fires. If there is room, v is pushed even when cancel is
// already closed.
func (r *Ring[T]) Push(v T, cancel <-chan struct{}) Status { return r.PushTag(v, 0, cancel) }

// PushTag is Push for an item with a tag (see TryPushTag).
func (r *Ring[T]) PushTag(v T, tag uint32, cancel <-chan struct{}) Status {
	if st := r.OfferTag(v, tag); st != Full {
		return st
	}
	for {
		r.pushers.Add(1)
		st := r.OfferTag(v, tag)
		if st == Full && !r.mark() {
			r.pushers.Add(-1)
			continue // room, or the close, came before the mark: look again
		}
		if st == Full {
			// Marked: the pop that empties the cell wakes a Push.
			if !sleep(r.pushWake, cancel) {
				r.pushers.Add(-1)
				// Room that is there, even behind a pop in progress,
				// wins over the cancel, as Push promises.
				if st := r.TryPushTag(v, tag); st != Full {
					return st
				}
				return Canceled
			}
			r.pushers.Add(-1)
			continue
		}
		r.pushers.Add(-1)
		if r.pushers.Load() > 0 && !r.mark() {
			// One token woke us, and others still sleep: mark the cell
			// they wait for now, or pass the room, or the close, on.
			wake(r.pushWake)
		}
		return st
	}
}

// Pop removes and returns the oldest item, waiting while the ring is empty.
// It returns OK, Closed once the ring is closed and drained, or Canceled if
// cancel is closed first. A nil cancel never fires. An item that is there is
// returned even when cancel is already closed.
func (r *Ring[T]) Pop(cancel <-chan struct{}) (T, Status) {
	v, _, st := r.PopTag(cancel)
	return v, st
}

// PopTag is Pop that also returns the item's tag (see TryPopTag).
func (r *Ring[T]) PopTag(cancel <-chan struct{}) (T, uint32, Status) {
	return r.popTag(cancel, 0, false, true)
}

// PopTagUnless is PopTag for a consumer that others must be able to wake
// without an item: it returns Canceled once Interrupt was called after
// Interrupts returned gen, unless an item is there. It sleeps in a single
// channel receive, which keeps the stack of the goroutine that sleeps
// small: a select needs more of it. With yield false it does not yield
// the processor before it sleeps (see popYields): for a consumer that
// readied no goroutine since its last item, none that would push is
// likely to be waiting for its processor. With yield set it yields even
// while another Pop does, unlike PopTag: it is for a consumer that
// readied the goroutine that pushes next (a pool's worker that resolved
// a caller's future), and with many such producers, a second consumer
// that sleeps at once only makes the next push wake it (8 callers of
// Run with a cancellable ctx on 2 workers cost about a fifth more).
func (r *Ring[T]) PopTagUnless(gen uint64, yield bool) (T, uint32, Status) {
	return r.popTag(nil, gen, true, yield)
}

// Interrupts returns the number of Interrupt calls so far, for
// PopTagUnless.
func (r *Ring[T]) Interrupts() uint64 { return r.pops.Load().gen }

// Interrupt wakes every PopTagUnless asleep or about to sleep, which then
// returns Canceled unless it finds an item. Pops that sleep in PopTag or
// Pop sleep again. It allocates a new place to sleep (see sleepers).
func (r *Ring[T]) Interrupt() {
	for {
		old := r.pops.Load()
		q := &sleepers{gen: old.gen + 1, wake: make(chan struct{}, 1)}
		if r.pops.CompareAndSwap(old, q) {
			if old.n.Load() > 0 {
				wake(old.wake) // each woken Pop wakes the next
			}
			return
		}
	}
}

// sleepers is where Pops sleep until an item, the close or an Interrupt
// may be waiting for them. Interrupt replaces it with a fresh one and wakes
// the Pops asleep on the old one one after the other, so that a Pop that
// arrives later, on the fresh one, cannot take the token meant for them.
type sleepers struct {
	n    atomic.Int32  // Pops asleep or about to sleep here
	gen  uint64        // Interrupt calls before this was made
	wake chan struct{} // a token: an item, the close or an Interrupt may be waiting for a Pop
}

func (r *Ring[T]) popTag(cancel <-chan struct{}, gen uint64, interruptible, yield bool) (T, uint32, Status) {
	if v, tag, st := r.PollTag(); st != Empty {
		return v, tag, st
	}
	// A Pop yields only one at a time: several that yield at once keep
	// every processor busy looking at an empty ring, and the one producer
	// they wait for queues behind them (with two consumers and one
	// producer on two processors, tiny tasks cost four times as much). The
	// others sleep at once, as a channel's receivers do. PopTagUnless
	// yields whenever asked (see there): its consumers just readied the
	// producers they wait for.
	solo := !interruptible
	if yield && (!solo || r.yielder.CompareAndSwap(false, true)) {
		for range popYields {
			// The goroutine about to push is often runnable on this very
			// processor, readied by the item we handed it last: let it run
			// rather than sleep and make it wake us.
			runtime.Gosched()
			if v, tag, st := r.PollTag(); st != Empty {
				if solo {
					r.yielder.Store(false)
				}
				return v, tag, st
			}
		}
		if solo {
			r.yielder.Store(false)
		}
	}
	for {
		q := r.pops.Load()
		if interruptible && q.gen != gen {
			return r.giveUp()
		}
		q.n.Add(1)
		v, tag, st := r.PollTag() // a push that ran before the Add did not see us
		if st == Empty {
			if r.pops.Load() != q { // interrupted before the Add was seen
				q.n.Add(-1)
				continue
			}
			if !sleep(q.wake, cancel) {
				q.n.Add(-1)
				return r.giveUp()
			}
			q.n.Add(-1)
			if r.pops.Load() != q && q.n.Load() > 0 {
				wake(q.wake) // an Interrupt woke us: wake the next one
			}
			continue
		}
		q.n.Add(-1)
		if q.n.Load() > 0 && (st == Closed || r.Len() > 0 || r.Closed() || r.pops.Load() != q) {
			wake(q.wake) // one token woke us: pass the rest, the close or the Interrupt on
		}
		return v, tag, st
	}
}

// giveUp ends a Pop that was canceled or interrupted: an item that is
// there, even behind a push in progress, wins, as Pop promises.
func (r *Ring[T]) giveUp() (T, uint32, Status) {
	if v, tag, st := r.TryPopTag(); st != Empty {
		return v, tag, st
	}
	var zero T
	return zero, 0, Canceled
}

// Close closes the ring and reports whether this call did. Later pushes
// return Closed; waiting pushes return Closed; pops drain what was pushed,
// then return Closed. It is idempotent and safe for concurrent use; every
// call returns after Done is closed.
func (r *Ring[T]) Close() bool {
	if r.tail.Or(closedBit)&closedBit != 0 {
		<-r.done // the first Close is about to close it
		return false
	}
	close(r.done)
	wake(r.pops.Load().wake) // each woken waiter wakes the next
	wake(r.pushWake)
	return true
}

// Seal closes the ring and hands the items left, oldest first, to f, which
// must not block. From the moment Seal takes them, pops return Closed even
// while items are left, so no pop can take an item younger than one Seal
// took: a pop that claimed its item before that is older than all of
// them. It is for moving the ring's contents to another queue in order;
// call it at most once.
func (r *Ring[T]) Seal(f func(T)) {
	r.Close()
	h := r.head.Or(closedBit)       // pops in progress keep the positions before h
	t := r.tail.Load() &^ closedBit // final: the ring is closed
	for h != t {
		c := &r.buf[h&(r.oneLap-1)]
		for spins := 0; turn(c.stamp.Load()) != turnOf(h+1); spins++ {
			pause(spins) // the push at h is still filling the cell
		}
		v := c.val
		var zero T
		c.val = zero
		c.stamp.Store(uint64(turnOf(h + r.oneLap)))
		h = r.advance(h)
		r.head.Store(h | closedBit)
		f(v)
	}
}

// Closed reports whether Close was called.
func (r *Ring[T]) Closed() bool { return r.tail.Load()&closedBit != 0 }

// Done returns a channel closed by Close.
func (r *Ring[T]) Done() <-chan struct{} { return r.done }

// Cap returns the capacity.
func (r *Ring[T]) Cap() int { return int(r.cap) }

// Len returns the number of items in the ring, counting pushes and pops in
// progress as done.
func (r *Ring[T]) Len() int {
	for {
		t := r.tail.Load() &^ closedBit
		h := r.head.Load() &^ closedBit
		if r.tail.Load()&^closedBit == t {
			return int(r.count(t) - r.count(h))
		}
	}
}

// Seq returns a number that changes with every push, for callers that need
// one and not the count Pushed computes from it.
func (r *Ring[T]) Seq() uint64 { return r.tail.Load() }

// Pushed returns the number of items pushed since New.
func (r *Ring[T]) Pushed() uint64 { return r.count(r.tail.Load() &^ closedBit) }

// Popped returns the number of items popped since New.
func (r *Ring[T]) Popped() uint64 { return r.count(r.head.Load() &^ closedBit) }

// count returns the number of items pushed (or popped) before position p.
func (r *Ring[T]) count(p uint64) uint64 {
	return p>>r.shift*r.cap + p&(r.oneLap-1)
}

// popYields is how many times a Pop yields the processor and looks again
// at an empty ring before it sleeps: an item that arrives meanwhile costs
// its producer no wake-up and its consumer no sleep. Only one Pop at a time
// yields (see PopTag).
const popYields = 2

// sleep waits for a token in ch and reports true, or reports false if
// cancel is closed first. A single receive is the cheapest wait there is.
func sleep(ch, cancel <-chan struct{}) bool {
	if cancel == nil {
		<-ch
		return true
	}
	select {
	case <-ch:
		return true
	case <-cancel:
		return false
	}
}

// wake leaves a token in ch unless one is already there.
func wake(ch chan struct{}) {
	if len(ch) > 0 {
		return // a token is waiting: no sleeper is blocked, the next one takes it
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// pause waits a little for another goroutine to finish the step it is in
// the middle of, yielding the processor after a few tries so that a
// preempted goroutine can run.
func pause(spins int) {
	if spins >= 4 {
		runtime.Gosched()
	}
}
