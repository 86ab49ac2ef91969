package pool

import (
	"context"
	"errors"
	"fmt"

	"github.com/crewkit/crew/messaging"
)

// Worker is an isolated unit of work with private state, the analogue of a
// Node worker thread. A pool calls Handle with one message at a time, so the
// worker needs no locks for its own state. Handle should return when ctx is
// cancelled.
//
// A worker may also implement interface{ Close(ctx context.Context) error }
// to release its resources when it is retired or discarded.
type Worker[In, Out any] interface {
	Handle(ctx context.Context, msg In) (Out, error)
}

// Factory builds a worker. It runs on the worker's own goroutine, so a slow
// factory delays only that worker. An error counts against the pool's
// RestartPolicy, like a crash. ctx ends when the pool is closed.
type Factory[In, Out any] func(ctx context.Context, info WorkerInfo) (Worker[In, Out], error)

// Retirer is implemented by workers that know when they should be
// replaced, such as a process worker whose memory grew past a threshold.
// The pool asks Retire on the worker's goroutine once after each task; a
// worker that says yes is closed and rebuilt before its next task, as
// MaxTasksPerWorker does (a WorkerRecycled event, Stats.Recycled), and it
// does not count against the RestartPolicy.
type Retirer interface {
	Retire() bool
}

// Func adapts a function to a Worker with no state.
type Func[In, Out any] func(ctx context.Context, msg In) (Out, error)

// Handle calls f.
func (f Func[In, Out]) Handle(ctx context.Context, msg In) (Out, error) { return f(ctx, msg) }

// WorkerInfo describes a worker to its factory.
type WorkerInfo struct {
	// ID identifies the worker within its pool; a rebuilt worker gets a new
	// ID. IDs start at 1.
	ID int
	// Pool is the pool's Options.Name.
	Pool string

	messages *messaging.Port[Message]
	post     func(body any) error // set by NewWorkerInfo
	crashed  *deathHook           // set by the pool (see mail.go)
}

// NewWorkerInfo returns a WorkerInfo whose Post calls post. It is for worker
// kinds that run a Factory away from its pool, such as process workers
// (package proc): their child side builds the worker with it and carries
// each post back to the pool's Messages.
func NewWorkerInfo(id int, pool string, post func(body any) error) WorkerInfo {
	return WorkerInfo{ID: id, Pool: pool, post: post}
}

// Message is what a worker posts to its pool's owner with WorkerInfo.Post.
type Message struct {
	// Worker is the ID of the worker that posted it.
	Worker int
	// Body is the value the worker posted.
	Body any
}

// Post sends body to the pool's owner, who receives it from Pool.Messages,
// the way a Node worker posts to parentPort. It never waits: when the buffer
// is full the oldest message is dropped and counted. It returns ErrClosed
// once the pool has closed.
func (w WorkerInfo) Post(body any) error {
	if w.post != nil {
		return w.post(body)
	}
	if w.messages == nil {
		return ErrClosed
	}
	if err := w.messages.TrySend(Message{Worker: w.ID, Body: body}); err != nil {
		if errors.Is(err, messaging.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	return nil
}

// Crashed tells the pool that this worker died on its own while it was
// not running a task: its process exited or was killed, its connection
// dropped. It is for worker kinds whose work lives outside the worker's
// goroutine, such as process workers (package proc) or remote members,
// which can die while their slot is parked waiting for a task; without it
// the death is found only when the next task reaches the worker. It never
// waits, may be called from any goroutine and more than once (the first
// report counts), and err should say what happened.
//
// The pool wakes the worker's slot, which deals with the report on its own
// goroutine, between tasks, before it takes another task: the worker is
// discarded (closed) and rebuilt exactly as after a crash under a task, with
// the same WorkerExited and WorkerRestarted events carrying err,
// Stats.Restarts, backoff, and the RestartPolicy's limits, so that a worker
// that dies right after every build ends the pool in ErrPoolFailed. A task
// that reaches the worker before the slot has seen the report runs on it
// first, so a worker kind that can still run it (by replacing what died)
// should; the worker is discarded after that task. A report that arrives
// after the pool discarded the worker anyway (its Handle returned a Fatal
// error for the same death, it was retired or recycled) is ignored, so a
// death is never counted twice. It does nothing for a WorkerInfo that no
// pool made, or once the worker's slot has exited.
func (w WorkerInfo) Crashed(err error) {
	if w.crashed == nil {
		return
	}
	if err == nil {
		err = fmt.Errorf("pool: worker %d died", w.ID)
	}
	w.crashed.report(err)
}

// closeWorker calls w.Close when w has one.
func closeWorker[In, Out any](ctx context.Context, w Worker[In, Out]) error {
	if c, ok := w.(interface{ Close(context.Context) error }); ok {
		return c.Close(ctx)
	}
	return nil
}
