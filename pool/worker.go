package pool

import (
	"context"
	"errors"

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

// closeWorker calls w.Close when w has one.
func closeWorker[In, Out any](ctx context.Context, w Worker[In, Out]) error {
	if c, ok := w.(interface{ Close(context.Context) error }); ok {
		return c.Close(ctx)
	}
	return nil
}
