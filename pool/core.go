package pool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Pool states.
const (
	stateOpen    int32 = iota
	stateClosing       // Close began: no new work, queued work drains
	stateForced        // Close's ctx ended: queued work is canceled
	stateFailed        // the restart policy gave up
)

// core is the part of a pool that does not depend on its task types: worker
// accounting, state, and the counters that are not per worker.
type core struct {
	opts  Options
	epoch time.Time // enqueue times are microseconds since epoch

	state atomic.Int32
	halt  chan struct{} // closed when the pool is forced or failed
	once  sync.Once     // closes halt
	life  context.Context
	kill  context.CancelCauseFunc
	wctx  context.Context // life, marked as running inside this pool

	// Worker accounting. live counts slots that serve the queue, idle those
	// waiting for a task; the most slots allowed is max+blocked+surge.
	max, min, live atomic.Int64
	blocked        atomic.Int64 // tasks of this pool waiting on this pool
	surge          atomic.Int64 // extra slots while Reload replaces workers
	// idle is written by every slot that parks and every one that wakes,
	// while every submitter reads live and the limit: it has a cache line
	// of its own, so that a worker going to sleep does not take the line
	// the submitters read from them.
	_      cacheLine
	idle   atomic.Int64
	_      cacheLine
	tick   atomic.Uint64 // idle clock, advanced every IdleTimeout
	ticker *time.Timer
	nextID atomic.Int64

	rejected, restarts, recycled, hungTotal atomic.Uint64
	dropped                                 atomic.Uint64 // queued tasks resolved by drainQueue
	forced                                  atomic.Uint64 // tasks workers dropped after Close gave up
	abandoned                               atomic.Uint64 // queued tasks resolved when their caller's ctx ended
	// gone counts abandoned tasks still in the queue: they take a cell
	// until a worker or a drain takes them out, but count as neither queued
	// nor taking room (see Future.abandon).
	gone atomic.Int64
	lat  latency // latency histograms and sampling (see latency.go)
	// runEWMA is a moving average of sampled run times in nanoseconds, for
	// EstimatedWait.
	runEWMA atomic.Int64
	failErr atomic.Pointer[error]

	window     intensity
	stallCheck stallCheck // see stall.go
	events     *events
	spawn      func() bool // the pool's maybeSpawn

	// unbuilt is the realCtx of every task context of this pool not
	// materialised yet (see taskCtx.real).
	unbuilt realCtx

	// closed is a closed channel: the Done of every future of Submit or
	// TrySubmit resolved before anyone asked for it (see Future.wake).
	closed chan struct{}

	// closeBegun is closed once Close has closed the queue: slots waiting
	// a backoff with nothing queued leave then.
	closeBegun chan struct{}
}

type poolKey struct{}

// cacheLine keeps the fields after it off the cache line of those before.
type cacheLine [64]byte

func newCore(opts Options) *core {
	c := &core{opts: opts, epoch: time.Now(), halt: make(chan struct{}), closeBegun: make(chan struct{})}
	c.unbuilt.core = c
	c.closed = make(chan struct{})
	close(c.closed)
	c.life, c.kill = context.WithCancelCause(context.Background())
	c.wctx = context.WithValue(c.life, poolKey{}, c)
	c.tick.Store(1) // 0 in slot.idleTick means busy
	c.max.Store(int64(opts.MaxWorkers))
	c.min.Store(int64(opts.MinWorkers))
	c.events = newEvents(opts.OnEvent)
	c.lat = newLatency(opts.MaxWorkers)
	return c
}

// nested reports whether ctx belongs to a task running in this pool.
func (c *core) nested(ctx context.Context) bool {
	return ctx.Value(poolKey{}) == c
}

// limit is the most slots allowed now.
func (c *core) limit() int64 { return c.max.Load() + c.blocked.Load() + c.surge.Load() }

// block records that a task of this pool waits on this pool, which allows one
// more worker so that the wait cannot starve the pool; call the returned
// function when the wait ends.
func (c *core) block() func() {
	c.blocked.Add(1)
	c.spawn() // the waiter's own task may be queued behind busy workers
	return func() { c.blocked.Add(-1) }
}

// clock is the monotonic time since the pool started.
func (c *core) clock() time.Duration { return time.Since(c.epoch) }

func (c *core) halted() bool {
	s := c.state.Load()
	return s == stateForced || s == stateFailed
}

// stop moves the pool to a halted state (forced or failed) at most once and
// reports whether it did.
func (c *core) stop(to int32) bool {
	for {
		s := c.state.Load()
		if s == stateForced || s == stateFailed {
			return false
		}
		if c.state.CompareAndSwap(s, to) {
			c.once.Do(func() { close(c.halt) })
			return true
		}
	}
}

// stateErr is the error for work the pool no longer accepts or runs.
func (c *core) stateErr() error {
	switch c.state.Load() {
	case stateFailed:
		if p := c.failErr.Load(); p != nil {
			return describe(head(c.opts.Name), "failed", ErrPoolFailed, *p)
		}
		return ErrPoolFailed
	default:
		return ErrClosed
	}
}

func (c *core) emit(kind EventKind, worker int, err error) {
	c.emitEvent(Event{Kind: kind, Worker: worker, Err: err})
}

func (c *core) emitEvent(e Event) {
	if c.events == nil {
		return
	}
	e.Pool, e.Time = c.opts.Name, time.Now()
	c.events.emit(e)
}
