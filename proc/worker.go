package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
)

// worker is the pool's side of one process worker. The pool calls Handle
// one task at a time; the worker keeps one child, and replaces it between
// tasks when it was killed for ignoring cancellation, or died idle and a
// task reached it before the pool acted on the death (the child reports it
// with WorkerInfo.Crashed, see child.arm, and the pool then discards the
// worker). A child grown past MaxRSS is retired through the pool (see
// Retire).
type worker[In, Out any] struct {
	f    *factory
	info pool.WorkerInfo
	c    *child
	seq  uint64

	next chan startResult // a replacement being started, or nil
}

type startResult struct {
	c   *child
	err error
}

// Handle sends msg to the child and waits for its answer. When ctx ends
// first the child is asked to cancel the task, and killed if it does not
// answer within Options.Grace.
func (w *worker[In, Out]) Handle(ctx context.Context, msg In) (out Out, err error) {
	c, id, err := w.send(ctx, msg, true)
	if err != nil {
		return out, err
	}
	fr, err := w.answer(ctx, c, id)
	if err != nil {
		return out, err
	}
	return w.decode(c, fr)
}

// send encodes msg and writes it to the current child as a new task. A
// child that turns out to be gone before it could read the task (the pipe
// is broken: it died between tasks and is not reaped yet) is replaced, and
// the task sent again to its successor once, when retry is set.
func (w *worker[In, Out]) send(ctx context.Context, msg In, retry bool) (*child, uint64, error) {
	c, err := w.current(ctx)
	if err != nil {
		return nil, 0, err
	}
	body, err := c.enc.Encode(&msg)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: worker %d: %w", ErrEncode, w.info.ID, err)
	}
	if len(body) > w.f.opts.MaxFrame {
		// The encoder may have described a type in the body that is not
		// sent: the child's decoder would miss it. Start afresh.
		w.replace()
		return nil, 0, fmt.Errorf("%w: worker %d: %w: %d bytes, limit %d", ErrEncode, w.info.ID,
			wire.ErrFrameTooLarge, len(body), w.f.opts.MaxFrame)
	}
	w.seq++
	if err := w.sendTask(ctx, c, w.seq, body); err != nil {
		if retry && errors.Is(err, syscall.EPIPE) {
			return w.send(ctx, msg, false) // current replaces the broken child
		}
		return nil, 0, pool.Fatal(c.death(nil, w.f.opts.Grace))
	}
	return c, w.seq, nil
}

// sendTask writes the task frame. A large frame can fill the pipe and
// wait for the child to read it, so its write is bounded by ctx and Grace.
func (w *worker[In, Out]) sendTask(ctx context.Context, c *child, id uint64, body []byte) error {
	f := wire.Frame{Kind: kindTask, ID: id, Body: body}
	if len(body) <= 4096 || ctx.Done() == nil {
		return c.send(c.tasks, f, 0)
	}
	stop := context.AfterFunc(ctx, func() {
		_ = c.tasks.SetWriteDeadline(time.Now().Add(w.f.opts.Grace))
	})
	defer stop()
	return c.send(c.tasks, f, 0)
}

// answer reads the child's answer to task id. When ctx ends first it sends
// a cancel request and waits Grace more, then kills the child.
func (w *worker[In, Out]) answer(ctx context.Context, c *child, id uint64) (wire.Frame, error) {
	unwatch := c.watch(ctx)
	fr, err := c.next(id)
	unwatch()
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return fr, w.lost(c, err)
	}
	// The caller gave up: ask the child to stop, and give it Grace.
	if c.send(c.ctrl, wire.Frame{Kind: kindCancel, ID: id}, w.f.opts.Grace) != nil {
		return fr, w.lost(c, errGone)
	}
	_ = c.repl.SetReadDeadline(time.Now().Add(w.f.opts.Grace))
	fr, err = c.next(id)
	_ = c.repl.SetReadDeadline(time.Time{})
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return fr, w.lost(c, err)
	}
	reason := fmt.Errorf("%w: no answer %v after the task's ctx ended (%w)", ErrUnresponsive, w.f.opts.Grace, context.Cause(ctx))
	c.doom()
	c.fail(reason)
	c.kill()
	err = pool.Fatal(c.death(reason, w.f.opts.Grace))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// A pool keeps a worker whose task timed out (it is not a
		// crash): start the next child now rather than on the next
		// task's clock. A pool that discards the worker stops it.
		w.replace()
	}
	return fr, err
}

// lost turns the error of reading an answer into the task's error: the
// child died or broke the protocol, and the error is fatal, so that the
// pool rebuilds the worker and counts a crash.
func (w *worker[In, Out]) lost(c *child, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrProtocol) {
		return pool.Fatal(c.death(err, w.f.opts.Grace))
	}
	return pool.Fatal(c.death(nil, w.f.opts.Grace))
}

// decode turns the child's answer into the task's result or error.
func (w *worker[In, Out]) decode(c *child, fr wire.Frame) (out Out, err error) {
	if fr.Kind == kindResult {
		if err := c.dec.Decode(fr.Body, &out); err != nil {
			return out, w.undecodable(c, "result", err)
		}
		return out, nil
	}
	var e wire.Error
	if err := c.dec.Decode(fr.Body, &e); err != nil {
		return out, w.undecodable(c, "error", err)
	}
	if fr.Kind == kindFatal {
		return out, pool.Fatal(e.Err())
	}
	return out, e.Err()
}

func (w *worker[In, Out]) undecodable(c *child, what string, err error) error {
	reason := fmt.Errorf("%w: cannot decode the %s: %w", ErrProtocol, what, err)
	c.violate(reason)
	return pool.Fatal(c.death(reason, w.f.opts.Grace))
}

// Receive sends a message from the pool's owner (Pool.Send, Pool.Broadcast)
// to the child, whose worker gets it in its Receive, and waits for that to
// return: the child's error comes back as Receive's, a Fatal one or a panic
// replacing the child. The message is encoded on its own, so with gob its
// concrete type must be registered (gob.Register) in parent and child.
func (w *worker[In, Out]) Receive(ctx context.Context, msg any) error {
	c, err := w.current(ctx)
	if err != nil {
		return err
	}
	body, err := w.f.opts.Codec.NewEncoder().Encode(&envelope{V: msg})
	if err != nil {
		return fmt.Errorf("%w: worker %d: message: %w", ErrEncode, w.info.ID, err)
	}
	if len(body) > w.f.opts.MaxFrame {
		return fmt.Errorf("%w: worker %d: message: %w: %d bytes, limit %d", ErrEncode, w.info.ID,
			wire.ErrFrameTooLarge, len(body), w.f.opts.MaxFrame)
	}
	w.seq++
	if err := c.send(c.tasks, wire.Frame{Kind: kindMsg, ID: w.seq, Body: body}, 0); err != nil {
		return pool.Fatal(c.death(nil, w.f.opts.Grace))
	}
	fr, err := w.answer(ctx, c, w.seq)
	if err != nil || fr.Kind == kindResult {
		return err
	}
	var e wire.Error
	if err := c.dec.Decode(fr.Body, &e); err != nil {
		return w.undecodable(c, "error", err)
	}
	if fr.Kind == kindFatal {
		return pool.Fatal(e.Err())
	}
	return e.Err()
}

// Retire reports whether the child grew past MaxRSS. The pool asks after
// each task and then closes this worker, which stops the child, and builds
// a new one: a WorkerRecycled event and Stats.Recycled, not a crash.
func (w *worker[In, Out]) Retire() bool {
	c := w.c
	if c == nil || c.rss == nil {
		return false
	}
	rss, err := c.rss.read()
	if err != nil || rss <= w.f.opts.MaxRSS {
		return false
	}
	w.warn("recycling a child whose resident memory is above MaxRSS", c, "rss", rss, "max_rss", w.f.opts.MaxRSS)
	return true
}

// replace stops the current child and starts a fresh one, in the
// background: the next task waits for it, and Close stops it.
func (w *worker[In, Out]) replace() {
	old := w.c
	w.c = nil
	next := make(chan startResult, 1)
	w.next = next
	go func() {
		if old != nil {
			old.stop(w.f.opts.Grace, nil)
		}
		c, err := w.f.start(context.Background(), w.info)
		next <- startResult{c, err}
	}()
}

// current returns a live child for the next task: the one being started
// after a recycle, or a fresh one when the last died or was killed. A
// caller that gives up while the child starts fails with its ctx's cause;
// the start goes on for the next task.
func (w *worker[In, Out]) current(ctx context.Context) (*child, error) {
	if w.next == nil && w.c != nil {
		if err := w.c.stray(); err != nil {
			w.c.violate(err)
		}
	}
	if w.next == nil && w.c.isBroken() {
		if w.c != nil {
			why := "it exited or closed its pipe"
			if w.c.why != nil {
				why = w.c.why.Error()
			}
			w.warn("replacing a child that broke between tasks", w.c, "reason", why)
		}
		w.replace()
	}
	if w.next != nil {
		select {
		case r := <-w.next:
			w.next = nil
			if r.err != nil {
				return nil, pool.Fatal(r.err)
			}
			w.c = r.c
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	return w.c, nil
}

func (w *worker[In, Out]) warn(msg string, c *child, args ...any) { w.f.warn(msg, c, args...) }

// Close stops the child: it closes the task pipe, waits up to Grace for
// the child to exit, or less if ctx ends first, kills it then, and returns
// once it is reaped. It reports nothing: a child that had to be killed is
// gone all the same.
func (w *worker[In, Out]) Close(ctx context.Context) error {
	if w.next != nil {
		if r := <-w.next; r.err == nil {
			r.c.stop(w.f.opts.Grace, ctx.Done())
		}
		w.next = nil
	}
	if w.c != nil {
		w.c.stop(w.f.opts.Grace, ctx.Done())
		w.c = nil
	}
	return nil
}
