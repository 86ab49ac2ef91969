package pool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/messaging"
	"github.com/sourcegraph/conc/panics"
)

// ThreadFunc is the body of a Thread: a long-lived loop that receives from
// inbox and sends to outbox, like the script of a Node worker thread.
//
// It should return when ctx is cancelled (Stop cancels it, with ErrClosed as
// its cause) or when inbox.Recv reports the inbox closed. Returning nil ends
// the thread for good. Returning an error or panicking is a crash: the
// thread runs the function again on the same ports, under the RestartPolicy.
// A message the function had already received when it crashed is not
// redelivered; the messages still queued in the inbox are.
type ThreadFunc[In, Out any] func(ctx context.Context, inbox *messaging.Port[In], outbox *messaging.Port[Out]) error

// SpawnOptions configures Spawn. The zero value is valid: a thread named
// "thread" with inbox and outbox of messaging.DefaultCapacity, the default
// RestartPolicy and DefaultHungGrace. Spawn rejects negative values with an
// error that names the field.
type SpawnOptions struct {
	// Name identifies the thread in events and errors. Default "thread".
	Name string

	// InboxSize is the capacity of the inbox, the port the owner sends to.
	// Zero means messaging.DefaultCapacity (64). The inbox blocks: Send
	// waits while it is full, bounded by its ctx.
	InboxSize int

	// OutboxSize is the capacity of the outbox, the port the thread sends
	// to. Zero means messaging.DefaultCapacity (64). The outbox blocks too:
	// a thread whose owner does not receive waits in Send, bounded by the
	// ctx the ThreadFunc was given.
	OutboxSize int

	// Restart says how a crashed thread is run again, with the same
	// semantics as a pool's: the first crash restarts at once, further
	// consecutive crashes back off, and the thread ends failed after more
	// than MaxRestarts within Period, or once the backoffs of consecutive
	// crashes would add up to Period (a crash loop). A run that lasts
	// longer than MaxBackoff resets the count of consecutive crashes, so a
	// thread that crashes rarely always restarts at once. The zero value is
	// the default policy.
	Restart RestartPolicy

	// HungGrace is how long Stop waits, after its ctx ended, for the
	// ThreadFunc to return before it reports the thread as hung. It also
	// bounds the wait for a slow OnEvent hook when the thread ends. Zero
	// means DefaultHungGrace (five seconds).
	HungGrace time.Duration

	// OnEvent, if set, receives the thread's lifecycle events: Event.Pool is
	// Name and Event.Worker numbers the runs of the ThreadFunc from 1.
	// WorkerStarted and WorkerExited frame each run (Err is the crash, if
	// any); WorkerRestarted and WorkerBackoff precede a rerun; PoolFailed
	// reports that the restart policy gave up; PoolClosed is the last event,
	// sent once the thread has ended for good (Err is Thread.Err). The hook
	// runs on its own goroutine, in order; every event has been delivered
	// when Done is closed, so the hook must not wait for Done.
	OnEvent func(Event)
}

// withDefaults validates o and fills in its zero fields.
func (o SpawnOptions) withDefaults() (SpawnOptions, error) {
	if o.Name == "" {
		o.Name = "thread"
	}
	if err := nonNegative(
		count("InboxSize", o.InboxSize),
		count("OutboxSize", o.OutboxSize),
		duration("HungGrace", o.HungGrace),
	); err != nil {
		return o, err
	}
	o.HungGrace = orDefault(o.HungGrace, DefaultHungGrace)
	r, err := o.Restart.withDefaults()
	o.Restart = r
	return o, err
}

// Thread is one supervised, long-lived worker with an inbox and an outbox:
// the analogue of a Node worker thread created with new Worker. Its
// ThreadFunc runs on the thread's own goroutine and is run again after a
// crash; the ports outlive the runs, so messages queued for a crashed run
// are served by the next one. All methods are safe for concurrent use.
type Thread[In, Out any] struct {
	fn     ThreadFunc[In, Out]
	opts   SpawnOptions
	inbox  *messaging.Port[In]
	outbox *messaging.Port[Out]
	events *events
	ctx    context.Context
	cancel context.CancelCauseFunc
	window intensity

	runs     atomic.Int64 // runs started; the number of the current one
	since    atomic.Int64 // start of the current run, unix nanoseconds
	restarts atomic.Int64
	streak   // crashes in a row; only the thread's goroutine uses it

	done    chan struct{} // closed when the thread has ended for good
	err     error         // the failure; written before done is closed
	stopErr error         // the crash of the run Stop ended; written before done is closed

	stopping atomic.Bool   // Stop began
	stopDone chan struct{} // closed when the first Stop finished
	stopped  error         // Stop's result
}

// Spawn starts a thread that runs fn on its own goroutine, with a fresh
// inbox and outbox. It does not wait for fn to start, but fn runs at least
// once, even when Stop comes first, so it sees every message sent before
// Stop. It returns an error for a nil fn or invalid options, and then
// starts nothing.
func Spawn[In, Out any](fn ThreadFunc[In, Out], opts SpawnOptions) (*Thread[In, Out], error) {
	if fn == nil {
		return nil, errors.New("pool: Spawn needs a non-nil ThreadFunc")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Thread[In, Out]{
		fn:       fn,
		stopDone: make(chan struct{}),
		opts:     opts,
		inbox:    messaging.NewPort(messaging.Options[In]{Capacity: opts.InboxSize, Name: opts.Name + " inbox"}),
		outbox:   messaging.NewPort(messaging.Options[Out]{Capacity: opts.OutboxSize, Name: opts.Name + " outbox"}),
		events:   newEvents(opts.OnEvent),
		done:     make(chan struct{}),
	}
	t.ctx, t.cancel = context.WithCancelCause(context.Background())
	go t.loop()
	return t, nil
}

// Send delivers in to the thread's inbox, waiting while it is full until
// there is room or ctx ends (ctx.Err()). It returns ErrClosed once Stop was
// called or the thread has ended.
func (t *Thread[In, Out]) Send(ctx context.Context, in In) error {
	return portErr(t.inbox.Send(ctx, in))
}

// TrySend is Send without waiting: it returns ErrQueueFull at once when the
// inbox is full.
func (t *Thread[In, Out]) TrySend(in In) error {
	return portErr(t.inbox.TrySend(in))
}

// Recv returns the next message from the thread's outbox, waiting until one
// arrives or ctx ends (ctx.Err()). Once the thread has ended, Recv returns
// the messages left in the outbox, then ErrClosed.
func (t *Thread[In, Out]) Recv(ctx context.Context) (Out, error) {
	out, err := t.outbox.Recv(ctx)
	return out, portErr(err)
}

// portErr maps the messaging sentinels to the pool's.
func portErr(err error) error {
	switch {
	case errors.Is(err, messaging.ErrClosed):
		return ErrClosed
	case errors.Is(err, messaging.ErrFull):
		return ErrQueueFull
	}
	return err
}

// Inbox returns the port the thread receives from. Its errors are the
// messaging package's; Send and TrySend map them to this package's.
func (t *Thread[In, Out]) Inbox() *messaging.Port[In] { return t.inbox }

// Outbox returns the port the thread sends to. Only the thread's owner
// should receive from it. It is closed when the thread ends.
func (t *Thread[In, Out]) Outbox() *messaging.Port[Out] { return t.outbox }

// Done returns a channel that is closed when the thread has ended for good:
// its ThreadFunc returned nil, the restart policy gave up, or it was
// stopped. By then the thread's goroutines have returned or are about to,
// both ports are closed, and every event has been delivered.
func (t *Thread[In, Out]) Done() <-chan struct{} { return t.done }

// Err returns nil until Done is closed. Then it returns nil when the thread
// finished or was stopped, or, when the restart policy gave up, an error
// that matches ErrPoolFailed and the last crash with errors.Is.
func (t *Thread[In, Out]) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Restarts returns how many times the ThreadFunc was run again after a
// crash.
func (t *Thread[In, Out]) Restarts() int { return int(t.restarts.Load()) }

// Stop ends the thread cooperatively and blocks until it has ended or ctx
// and HungGrace have passed. It cancels the ThreadFunc's ctx (with ErrClosed
// as the cause), closes the inbox (the function may still drain it), and
// interrupts a backoff wait. Stop returns nil when the thread ended, or the
// panic or error with which the ThreadFunc returned while stopping (errors
// matching context.Canceled or ErrClosed are a clean stop). If ctx ends
// first, Stop waits HungGrace more, then returns a *CloseError naming the
// thread as hung: Go cannot kill a goroutine, so it runs until the function
// returns, and Done is closed then. A failed or finished thread stops at
// once with nil, as Close does for a failed pool; its failure is in Err.
//
// Stop is idempotent: later and concurrent calls wait for the first one and
// return its result.
func (t *Thread[In, Out]) Stop(ctx context.Context) error {
	if t.stopping.CompareAndSwap(false, true) {
		t.stopped = t.stop(ctx)
		close(t.stopDone)
	} else {
		<-t.stopDone // a channel, not sync.Once: durably blocking under synctest
	}
	return t.stopped
}

func (t *Thread[In, Out]) stop(ctx context.Context) error {
	t.cancel(ErrClosed)
	t.inbox.Close()
	select {
	case <-t.done:
		return t.stopErr
	case <-ctx.Done():
	}
	grace := time.NewTimer(t.opts.HungGrace)
	defer grace.Stop()
	select {
	case <-t.done:
		return t.stopErr
	case <-grace.C:
		return &CloseError{Cause: ctx.Err(), Hung: []string{t.hungName()}}
	}
}

// hungName describes the run that ignored Stop.
func (t *Thread[In, Out]) hungName() string {
	ran := time.Since(time.Unix(0, t.since.Load())).Round(time.Millisecond)
	return fmt.Sprintf("%s worker %d (running for %v)", t.opts.Name, t.runs.Load(), ran)
}

// loop is the thread's goroutine: it runs fn until it finishes, is stopped,
// or the restart policy gives up.
func (t *Thread[In, Out]) loop() {
	defer t.finish()
	for {
		ran, err := t.run()
		if t.ctx.Err() != nil {
			t.stopErr = err
			return
		}
		if err == nil || !t.restart(err, ran) {
			return
		}
	}
}

// run calls fn once, turning a panic into a *PanicError, and reports how
// long it ran and how it ended. An error that only reflects Stop is nil.
func (t *Thread[In, Out]) run() (time.Duration, error) {
	id := int(t.runs.Add(1))
	start := time.Now()
	t.since.Store(start.UnixNano())
	t.emit(Event{Kind: WorkerStarted, Worker: id})
	var err error
	if r := panics.Try(func() { err = t.fn(t.ctx, t.inbox, t.outbox) }); r != nil {
		err = &PanicError{Value: r.Value, Stack: r.Stack}
	}
	if t.ctx.Err() != nil && stoppedCleanly(err) {
		err = nil
	}
	t.emit(Event{Kind: WorkerExited, Worker: id, Err: err})
	return time.Since(start), err
}

// stoppedCleanly reports whether err is what a ThreadFunc returns when it
// obeys Stop: the cancellation or the closed inbox, not a panic.
func stoppedCleanly(err error) bool {
	var pe *PanicError
	if errors.As(err, &pe) {
		return false
	}
	return err == nil || errors.Is(err, context.Canceled) ||
		errors.Is(err, ErrClosed) || errors.Is(err, messaging.ErrClosed)
}

// restart records a crash and reports whether fn should run again, after
// the backoff; when the policy refuses, the thread fails.
func (t *Thread[In, Out]) restart(err error, ran time.Duration) bool {
	if ran > t.opts.Restart.MaxBackoff {
		t.failures = 0
	}
	d, loop := t.next(t.opts.Restart)
	if loop {
		t.fail(t.loopError("", t.opts.Restart, err))
		return false
	}
	if !t.window.allow(t.opts.Restart, time.Now()) {
		t.fail(err)
		return false
	}
	t.restarts.Add(1)
	t.emit(Event{Kind: WorkerRestarted, Worker: int(t.runs.Load()), Err: err})
	return t.backoff(d)
}

// backoff waits d before the next run; it reports false when Stop cut it
// short.
func (t *Thread[In, Out]) backoff(d time.Duration) bool {
	if d <= 0 {
		return t.ctx.Err() == nil
	}
	t.emit(Event{Kind: WorkerBackoff, Worker: int(t.runs.Load()), Delay: d})
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// fail records that the restart policy gave up after err.
func (t *Thread[In, Out]) fail(err error) {
	t.err = describe("pool: thread "+strconv.Quote(t.opts.Name), fmt.Sprintf("failed after %d restarts", t.restarts.Load()), ErrPoolFailed, err)
	t.emit(Event{Kind: PoolFailed, Err: t.err})
}

// finish runs when the thread has ended for good: it closes the ports,
// delivers the last events and closes done.
func (t *Thread[In, Out]) finish() {
	t.cancel(ErrClosed)
	t.inbox.Close()
	t.outbox.Close()
	t.emit(Event{Kind: PoolClosed, Err: t.err})
	if t.events != nil {
		grace := time.NewTimer(t.opts.HungGrace)
		t.events.stop(grace.C)
		grace.Stop()
	}
	close(t.done)
}

func (t *Thread[In, Out]) emit(e Event) {
	if t.events != nil {
		e.Pool, e.Time = t.opts.Name, time.Now()
		t.events.emit(e)
	}
}
