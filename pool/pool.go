package pool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/internal/ring"
	"github.com/crewkit/crew/messaging"
)

// Pool feeds tasks of type In to workers that return Out: the manager of a
// set of isolated workers, the analogue of a Piscina pool. Tasks wait in one
// bounded FIFO queue and are dispatched in order to the next free worker.
// Workers are built lazily by the factory, up to MaxWorkers, and retired when
// idle. All methods are safe for concurrent use.
//
// Submitting to a pool from inside one of its own tasks is safe only when
// the call is given the task's ctx, or a ctx derived from it: that ctx is how
// the pool knows the caller is one of its tasks, and while such a task waits
// (for queue room or for a result, in Run, Submit, Go or Future.Wait), the
// pool may run one more worker than MaxWorkers, so nested work cannot
// deadlock it. Go gives a goroutine no identity that a library may use, so
// the pool cannot recognise its own task any other way: a task that calls
// its own pool with context.Background() or any unrelated ctx waits like an
// outside caller, and when every worker does so the pool deadlocks. Such a
// deadlock is reported, not prevented: once work has been queued with every
// worker busy and no task starting or finishing for a whole IdleTimeout,
// Stats.Stalled is true and a PoolStalled event is emitted.
type Pool[In, Out any] struct {
	*core
	factory Factory[In, Out]
	// stateless pools (NewFunc, NewTasks) keep their worker after a panic.
	stateless bool
	queue     *ring.Ring[entry[In, Out]]
	msgs      *messaging.Port[Message]
	free      sync.Pool                              // *Future[Out] with signal set, reused by Run
	ovf       overflow[In, Out]                      // beyond the buffer, for an Unbounded queue
	lend      bool                                   // Run may borrow idle workers (see inline.go)
	lenders   [lenders]atomic.Pointer[slot[In, Out]] // parked slots whose workers Run may borrow
	offers    atomic.Uint32                          // spreads slots over lenders
	held      held[In, Out]                          // taken from the queue by lent slots
	naps      naps[In, Out]                          // idle slots waiting their turn in the queue (see nap.go)
	// mailPending counts messages from the owner not yet delivered, in
	// every slot's mailbox (see mail.go).
	mailPending atomic.Int64
	shut        mailbox // closed: the mailbox of exited slots nobody wrote to

	mu      sync.Mutex // guards the fields below; never held on the hot path
	slots   map[*slot[In, Out]]struct{}
	hung    map[*slot[In, Out]]struct{}
	retired counters // totals of slots that exited
	closing bool
	drained chan struct{} // closed once closing and no slot is left
	result  error         // Close's result
	begun   atomic.Bool   // Close began
	ended   chan struct{} // closed when Close's shutdown finished
	reload  chan struct{} // holds a token while a Reload runs
}

// task is one unit of work. It holds no pointer when it needs none, so a
// queued fire-and-forget task costs only its cell in the queue.
type task[In, Out any] struct {
	in  In
	fut *Future[Out] // nil: fire-and-forget that cannot be canceled
	enq uint32       // core.now() at enqueue
}

// entry is a task in the queue: its enq rides in the cell's tag, where it
// takes no room (see ring.Ring.TryPushTag).
type entry[In, Out any] struct {
	in  In
	fut *Future[Out]
}

// tryPut queues t if there is room. A caller that will wait for room
// anyway (wait) does not wait for a pop in progress either (see
// ring.Ring.OfferTag).
func (p *Pool[In, Out]) tryPut(t task[In, Out], wait bool) ring.Status {
	if wait {
		return p.queue.OfferTag(entry[In, Out]{t.in, t.fut}, t.enq)
	}
	return p.queue.TryPushTag(entry[In, Out]{t.in, t.fut}, t.enq)
}

func (p *Pool[In, Out]) put(t task[In, Out], cancel <-chan struct{}) ring.Status {
	return p.queue.PushTag(entry[In, Out]{t.in, t.fut}, t.enq, cancel)
}

func (p *Pool[In, Out]) tryTake() (task[In, Out], ring.Status) {
	e, enq, st := p.queue.TryPopTag()
	return task[In, Out]{e.in, e.fut, enq}, st
}

// poll is tryTake for a slot, which parks when the queue looks empty: it
// does not wait for a push in progress (see ring.Ring.PollTag).
func (p *Pool[In, Out]) poll() (task[In, Out], ring.Status) {
	e, enq, st := p.queue.PollTag()
	return task[In, Out]{e.in, e.fut, enq}, st
}

// New returns a pool whose workers are built by factory. It starts
// opts.MinWorkers workers at once and the rest on demand. It returns an error
// for a nil factory or invalid options, and, when MinWorkers > 0, the
// factory's error if it cannot build the first worker: a pool that cannot
// start fails at New, not at its first task. New then waits for that one
// build; the other MinWorkers-1 are built in the background.
func New[In, Out any](factory Factory[In, Out], opts Options) (*Pool[In, Out], error) {
	if factory == nil {
		return nil, errors.New("pool: New needs a non-nil factory")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pool[In, Out]{
		core:    newCore(opts),
		factory: factory,
		queue:   ring.New[entry[In, Out]](bufferSize(opts.QueueSize)),
		msgs: messaging.NewPort(messaging.Options[Message]{
			Capacity: opts.MessageBuffer, Policy: messaging.DropOldest, Name: opts.Name + " messages"}),
		slots:   make(map[*slot[In, Out]]struct{}),
		naps:    naps[In, Out]{procs: runtime.GOMAXPROCS(0)},
		hung:    make(map[*slot[In, Out]]struct{}),
		drained: make(chan struct{}),
		ended:   make(chan struct{}),
		reload:  make(chan struct{}, 1),
	}
	if opts.MinWorkers > 0 {
		if err := p.buildFirst(); err != nil {
			return nil, err
		}
	}
	p.ovf.on = opts.QueueSize == Unbounded
	p.shut.closed = true
	p.lend = !opts.NoInline && opts.TaskTimeout == 0
	p.spawn = p.maybeSpawn
	p.ticker = time.AfterFunc(time.Hour, p.onTick)
	p.ticker.Reset(opts.IdleTimeout)
	p.free.New = func() any {
		return &Future[Out]{done: make(chan struct{}, 1), signal: true, core: p.core, seq: rand.Uint64()}
	}
	for range opts.MinWorkers {
		p.live.Add(1)
		p.start()
	}
	return p, nil
}

// buildFirst builds worker 1 before New returns and hands it to the slot
// whose build gets ID 1, so that a failing factory fails New and a working
// one is not called twice. On failure it releases what New made.
func (p *Pool[In, Out]) buildFirst() error {
	const id = 1 // the first ID build assigns (p.nextID starts at 0)

	// WorkerInfo.Crashed of w, bound to the slot that takes w.
	first := new(deathHook)
	w, err := p.newWorker(WorkerInfo{ID: id, Pool: p.opts.Name, messages: p.msgs, crashed: first})
	if err != nil {
		err = describe(head(p.opts.Name), fmt.Sprintf("worker %d: factory", id), nil, err)
		p.kill(err)
		p.msgs.Close()
		p.events.stop(nil)
		return err
	}
	factory := p.factory
	var handed atomic.Bool
	p.factory = func(ctx context.Context, info WorkerInfo) (Worker[In, Out], error) {
		if info.ID == id && handed.CompareAndSwap(false, true) {
			first.bind(info.crashed)
			return w, nil
		}
		return factory(ctx, info)
	}
	return nil
}

// NewFunc returns a pool of stateless workers that call fn. It returns an
// error for a nil fn or invalid options. With no worker state to distrust, a
// panic (or a Fatal error) fails only its own task: no worker is rebuilt and
// nothing counts against the RestartPolicy, so callers that can make fn panic
// cannot fail the pool.
func NewFunc[In, Out any](fn func(ctx context.Context, in In) (Out, error), opts Options) (*Pool[In, Out], error) {
	if fn == nil {
		return nil, errors.New("pool: NewFunc needs a non-nil function")
	}
	w := Func[In, Out](fn)
	p, err := New(func(context.Context, WorkerInfo) (Worker[In, Out], error) { return w, nil }, opts)
	if p != nil {
		p.stateless = true
	}
	return p, err
}

// Run queues in, waiting while the queue is full, then waits for its result.
// If ctx ends while the task is queued, Run returns ctx.Err() and the task
// never runs; if it ends while the task runs, the task sees its context
// cancelled, with ctx's cause.
//
// From inside one of the pool's own tasks, pass the task's ctx: only then
// does the pool know the caller is its task and run another worker while it
// waits. With any other ctx, a pool whose every worker waits this way
// deadlocks, which Stats.Stalled and a PoolStalled event report (see Pool).
//
// If ctx ends, Run returns ctx.Err() at once, even while a task that ignores
// its ctx goes on holding its worker; TryRun is the form that waits for the
// task to be over.
//
// When ctx cannot be cancelled (its Done is nil), the queue is empty and a
// worker is idle, Run borrows that worker and calls its Handle on the
// caller's goroutine instead of waking the worker's goroutine and waiting
// for it: the worker still handles one task at a time and keeps its state,
// and the task counts in Stats like any other, but it crosses no goroutine.
// Options.NoInline turns this off; a pool with a TaskTimeout never runs
// tasks inline.
func (p *Pool[In, Out]) Run(ctx context.Context, in In) (Out, error) {
	return p.run(ctx, in, false)
}

// TryRun is the request/reply form for a caller that sheds load and holds
// what its task uses, such as an HTTP handler lending its ResponseWriter.
// It never waits for room: when the queue is full it fails at once with
// ErrQueueFull. And it returns only when the task is over: with the task's
// result, or with ctx.Err() if ctx ended while the task was queued, in
// which case the task never runs. If ctx ends while the task runs, the task
// sees its ctx cancelled and TryRun waits for it to return (on a pool with
// a TaskTimeout, at most until the pool gives the task up as timed out).
//
// Since it waits for the task anyway, TryRun borrows an idle worker and
// calls its Handle on the caller's goroutine whenever the queue is empty,
// whether or not ctx can be cancelled (see Run); this makes it the cheapest
// call with a cancellable ctx. Options.NoInline and a TaskTimeout turn
// that off as they do for Run.
func (p *Pool[In, Out]) TryRun(ctx context.Context, in In) (Out, error) {
	return p.run(ctx, in, true)
}

// release returns a resolved Run future to the free list, without the
// caller's ctx, which it must not keep alive until the future's next use.
func (p *Pool[In, Out]) release(f *Future[Out]) {
	f.ctx = nil
	p.free.Put(f)
}

// run is Run and TryRun: try says which.
func (p *Pool[In, Out]) run(ctx context.Context, in In, try bool) (Out, error) {
	done := ctx.Done() // asked once: each Done is an interface call
	f := p.free.Get().(*Future[Out])
	f.reset(ctx, done != nil || !empty(ctx))
	t := task[In, Out]{in: in, fut: f, enq: p.now(f.seq)}
	if (try || done == nil) && p.inline() {
		if s := p.borrow(&f.lender); s != nil {
			p.runLent(s, t)
			<-f.done
			out, err := f.out, f.err
			p.release(f)
			return out, err
		}
	}
	if err := p.enqueue(ctx, t, !try); err != nil {
		p.release(f)
		var zero Out
		return zero, err
	}
	if p.nested(ctx) {
		defer p.block()()
	}
	if done == nil {
		<-f.done
	} else if !p.await(f, done) {
		// A task still queued leaves the queue's count at once; a running
		// one sees its ctx cancelled, and TryRun waits for it. Run returns
		// at once: a worker still holds f then, which is not reused.
		if f.abandon(ctx.Err()) || !try {
			var zero Out
			return zero, ctx.Err()
		}
		<-f.done
	}
	out, err := f.out, f.err
	p.release(f)
	return out, err
}

// Submit queues in and returns its future, waiting while the queue is full
// until there is room or ctx ends. A task whose ctx ends while it is queued
// never runs, and a running one sees its context cancelled. A task of this
// pool that submits to it and waits must pass its own ctx to Submit and to
// Future.Wait, as for Run.
func (p *Pool[In, Out]) Submit(ctx context.Context, in In) (*Future[Out], error) {
	return p.submit(ctx, in, true)
}

// TrySubmit is Submit without waiting: it fails with ErrQueueFull at once
// when the queue is full. ctx is never waited on; it is the task's context,
// so a task whose ctx ends while queued never runs.
func (p *Pool[In, Out]) TrySubmit(ctx context.Context, in In) (*Future[Out], error) {
	return p.submit(ctx, in, false)
}

// submit queues in with a future, waiting for room when wait is set.
func (p *Pool[In, Out]) submit(ctx context.Context, in In, wait bool) (*Future[Out], error) {
	canEnd := ctx.Done() != nil
	f := &Future[Out]{lazy: true, core: p.core}
	if canEnd || !empty(ctx) {
		f.ctx = ctx
	}
	idle := canEnd && p.idle.Load() > 0
	if err := p.enqueue(ctx, task[In, Out]{in: in, fut: f, enq: p.now(p.queue.Seq())}, wait); err != nil {
		return nil, err
	}
	if canEnd {
		if idle {
			// A worker was idle, so the task starts as soon as it runs,
			// often on this processor: yield once, and a task that
			// started or ended meanwhile needs no watch on ctx, whose
			// registration and removal cost more than a tiny task. A ctx
			// that ended during the yield is seen by watch or by the
			// worker that starts the task, as before.
			runtime.Gosched()
		}
		f.watch(ctx)
	}
	return f, nil
}

// Go queues in without a way to wait for its result (fire and forget),
// waiting while the queue is full until there is room or ctx ends. The task's
// error, if any, goes to Options.OnError. A task whose ctx ends while queued
// never runs. With context.Background or context.TODO, Go does not allocate. A
// task of this pool calling Go on a full queue must pass its own ctx, as for
// Run, or its wait for room can deadlock the pool.
func (p *Pool[In, Out]) Go(ctx context.Context, in In) error {
	return p.goDetached(ctx, in, true)
}

// TryGo is Go without waiting: it fails with ErrQueueFull at once when the
// queue is full. ctx is never waited on; it is the task's context.
func (p *Pool[In, Out]) TryGo(ctx context.Context, in In) error {
	return p.goDetached(ctx, in, false)
}

// goDetached queues a fire-and-forget task, which needs a future only to
// carry a ctx that can end while it is queued.
func (p *Pool[In, Out]) goDetached(ctx context.Context, in In, wait bool) error {
	t := task[In, Out]{in: in, enq: p.now(p.queue.Seq())}
	if c := kept(ctx); c != nil {
		t.fut = &Future[Out]{ctx: c, core: p.core}
	}
	if err := p.enqueue(ctx, t, wait); err != nil {
		return err
	}
	if t.fut != nil {
		t.fut.watch(ctx)
	}
	return nil
}

// enqueue puts t in the queue, waiting for room when wait is set.
func (p *Pool[In, Out]) enqueue(ctx context.Context, t task[In, Out], wait bool) error {
	if p.state.Load() != stateOpen {
		return p.stateErr()
	}
	st := ring.OK
	if p.ovf.n.Load() > 0 {
		st = p.push(t) // the overflow is in use: join it, to keep FIFO
	} else if st = p.tryPut(t, wait); st == ring.Full && (p.ovf.on || p.gone.Load() > 0) {
		st = p.push(t) // Unbounded, or abandoned tasks take cells but no room
	}
	if st == ring.Full && wait {
		st = p.wait(ctx, t)
	}
	switch st {
	case ring.Full:
		p.rejected.Add(1)
		return describe(head(p.opts.Name), "", nil, ErrQueueFull)
	case ring.Closed:
		return p.stateErr()
	case ring.Canceled:
		return ctx.Err()
	}
	if p.live.Load() < p.limit() { // the common full pool skips the call
		p.maybeSpawn()
	}
	return nil
}

// wait puts t in the queue once there is room, or until ctx ends. A task of
// this pool waiting on it allows one more worker meanwhile (see block).
func (p *Pool[In, Out]) wait(ctx context.Context, t task[In, Out]) ring.Status {
	if p.nested(ctx) {
		defer p.block()()
	}
	return p.put(t, ctx.Done())
}

// Messages returns the port on which workers' WorkerInfo.Post messages
// arrive, oldest first. It is closed, after the remaining messages, when the
// pool closes. Only the pool's owner should receive from it.
func (p *Pool[In, Out]) Messages() *messaging.Port[Message] { return p.msgs }

// Resize changes MaxWorkers to n (n >= 1), lowering MinWorkers to n if it
// was higher. Extra workers retire after their current task; new ones are
// built as queued work needs them. It does not wait.
func (p *Pool[In, Out]) Resize(n int) error {
	if n < 1 {
		return fmt.Errorf("pool: Resize needs n >= 1, got %d", n)
	}
	if p.state.Load() != stateOpen {
		return p.stateErr()
	}
	p.max.Store(int64(n))
	if p.min.Load() > int64(n) {
		p.min.Store(int64(n))
	}
	p.nudge()
	for p.maybeSpawn() {
	}
	return nil
}

// maybeSpawn starts a slot when queued tasks outnumber idle slots and the
// limit allows one more, and reports whether it did.
func (p *Pool[In, Out]) maybeSpawn() bool {
	for {
		l := p.live.Load()
		if l >= p.limit() || int64(p.queued()) <= p.idle.Load() || p.halted() {
			return false
		}
		if p.live.CompareAndSwap(l, l+1) {
			return p.start() != nil
		}
	}
}

// onTick runs every IdleTimeout while the pool is open.
func (p *Pool[In, Out]) onTick() {
	if p.state.Load() != stateOpen {
		return
	}
	p.idleTick()
	p.checkStall()
	p.ticker.Reset(p.opts.IdleTimeout)
}

// queued is the number of tasks waiting, not counting those whose callers
// abandoned them.
func (p *Pool[In, Out]) queued() int {
	return max(p.cells()-int(p.gone.Load()), 0)
}

// cells is the number of tasks in the queue, abandoned ones included.
func (p *Pool[In, Out]) cells() int {
	return p.queue.Len() + int(p.ovf.n.Load()) + int(p.held.n.Load())
}

// bufferSize is the queue's buffer for a QueueSize; an Unbounded queue keeps
// a buffer of DefaultQueueSize and overflows beyond it.
func bufferSize(queueSize int) int {
	if queueSize == Unbounded {
		return DefaultQueueSize
	}
	return queueSize
}

// await waits for f or for done, preferring f when both are ready, and
// reports whether f was resolved (its token taken).
func (p *Pool[In, Out]) await(f *Future[Out], done <-chan struct{}) bool {
	if f.ready() {
		return true
	}
	select {
	case <-f.done:
		return true
	case <-done:
		select {
		case <-f.done:
			return true
		default:
			return false
		}
	}
}
