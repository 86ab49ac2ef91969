package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
)

// Factory returns a pool.Factory whose workers send each task to a member
// of service over nc and return its answer, so that
//
//	p, err := pool.New(remote.Factory[In, Out](nc, "resize", remote.Options{}), pool.Options{MaxWorkers: 64})
//
// gives Run, Submit, Stats and Close over the network, the local pool
// bounding how many tasks are in flight (one per worker).
//
// A busy answer is retried with backoff, and NATS's queue group picks the
// member again, until ctx ends. When no member serves the service the call
// keeps sending with the same backoff for Options.NoMembersWait, then fails
// with ErrNoMembers. A member that goes silent mid-task fails the call with
// ErrMemberLost, marked pool.Fatal so that the pool counts the member's
// death as a crash of this worker, or sends it again, as Options.Idempotent
// and the per-call Idempotent and AtMostOnce choose. A call whose ctx is
// cancelled tells the members, and the one holding its task ends the
// task's ctx. A task's error arrives with its kind: errors.Is matches
// pool.ErrTimeout, pool.ErrPoolFailed and the other pool sentinels,
// errors.As finds a *pool.PanicError, and other errors keep their message.
//
// Each worker implements pool.Receiver: a message sent to it goes to every
// worker of every member, as Broadcast does.
//
// Factory panics with a message starting with "remote:" when opts are
// invalid, since that is a programming error.
func Factory[In, Out any](nc *nats.Conn, service string, opts Options) pool.Factory[In, Out] {
	o, err := opts.withDefaults()
	if err == nil && (nc == nil || service == "") {
		err = errors.New("remote: Factory needs a connection and a service name")
	}
	if err != nil {
		panic(err.Error())
	}
	c := &client{nc: nc, service: service, opts: o, max: o.MaxPayload, replies: newReceiver(o.Codec), cancels: cancelSubject(service)}
	if c.max == 0 {
		c.max = int(nc.MaxPayload())
	}
	return func(ctx context.Context, info pool.WorkerInfo) (pool.Worker[In, Out], error) {
		w, err := newCaller[In, Out](c)
		if err != nil {
			return nil, err
		}
		w.life = ctx.Done()
		return w, nil
	}
}

// client is what a Factory's workers share.
type client struct {
	nc      *nats.Conn
	service string
	opts    Options
	max     int
	replies *receiver
	cancels string // the subject of cancels
}

func (c *client) emit(kind EventKind, attempt int) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(Event{Kind: kind, Service: c.service, Attempt: attempt})
	}
}

// caller is one worker: one call at a time, on its own reply inbox.
type caller[In, Out any] struct {
	c     *client
	inbox string
	sub   *nats.Subscription
	msgs  chan *nats.Msg
	timer *time.Timer
	seq   uint64
	enc   *sender[In]
	out   []byte
	call  []byte // the request prefix's constant tail: heartbeat, codec
	// life is the Done channel of the pool's own ctx, which a task's ctx
	// is when its submitter's cannot end: no cancel to forward then.
	life <-chan struct{}
}

// replies buffers messages for one caller: a reply, heartbeats, and stale
// messages of attempts it gave up on.
const replies = 256

func newCaller[In, Out any](c *client) (*caller[In, Out], error) {
	w := &caller[In, Out]{c: c, inbox: c.nc.NewInbox(), msgs: make(chan *nats.Msg, replies), enc: newSender[In](c.opts.Codec)}
	sub, err := c.nc.ChanSubscribe(w.inbox, w.msgs)
	if err != nil {
		return nil, fmt.Errorf("remote: subscribe for replies: %w", err)
	}
	w.sub = sub
	w.call = appendCall(nil, 0, 0, c.opts.Heartbeat, c.opts.Codec.Name())[2:]
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	return w, nil
}

// Close unsubscribes the worker's inbox.
func (w *caller[In, Out]) Close(context.Context) error {
	w.timer.Stop()
	if err := w.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("remote: unsubscribe: %w", err)
	}
	return nil
}

// outcome classifies one attempt.
type outcome int

const (
	answered outcome = iota
	busy
	noMembers
	lost
)

// Handle sends in to a member and waits for its answer.
func (w *caller[In, Out]) Handle(ctx context.Context, in In) (Out, error) {
	var zero Out
	body, err := w.enc.encode(nil, in)
	if err != nil {
		return zero, fmt.Errorf("remote: encode request: %w", err)
	}
	if len(body) > w.c.max {
		return zero, fmt.Errorf("%w: request of %d bytes over the %d-byte limit", ErrTooLarge, len(body), w.c.max)
	}
	retry := idempotent(ctx, w.c.opts.Idempotent)
	cancellable := ctx.Done() != w.life
	wait := w.c.opts.Backoff
	var giveUp time.Time // when a call that finds no member fails
	for attempt := 1; ; attempt++ {
		answer, out, err := w.attempt(ctx, body, cancellable)
		if err != nil {
			return zero, err
		}
		pause := wait
		switch out {
		case answered:
			return w.decode(answer)
		case lost:
			w.c.emit(Lost, attempt)
			if !retry {
				// The member's death is a crash of this worker: the pool
				// rebuilds it and counts it against its RestartPolicy.
				return zero, pool.Fatal(fmt.Errorf("%w: no answer from service %q for %v", ErrMemberLost, w.c.service, w.c.opts.LostAfter))
			}
			w.c.emit(Resent, attempt)
			continue
		case noMembers:
			w.c.emit(NoResponders, attempt)
			if w.c.opts.NoMembersWait < 0 {
				return zero, fmt.Errorf("%w on %q", ErrNoMembers, w.c.service)
			}
			left := w.membersLeft(&giveUp)
			if left <= 0 {
				return zero, fmt.Errorf("%w on %q within %v", ErrNoMembers, w.c.service, w.c.opts.NoMembersWait)
			}
			pause = min(pause, left)
		case busy:
			w.c.emit(Busy, attempt)
			giveUp = time.Time{}
		}
		if err := w.sleep(ctx, pause); err != nil {
			return zero, err
		}
		wait = min(2*wait, w.c.opts.MaxBackoff)
	}
}

// membersLeft returns how much longer a call that just found no member may
// wait for one: Options.NoMembersWait from its first such answer, whose
// deadline it keeps in *giveUp. Zero or less means the wait is over.
func (w *caller[In, Out]) membersLeft(giveUp *time.Time) time.Duration {
	if giveUp.IsZero() {
		*giveUp = time.Now().Add(w.c.opts.NoMembersWait)
	}
	return time.Until(*giveUp)
}

// sleep waits d with jitter (between d/2 and d), or until ctx ends.
func (w *caller[In, Out]) sleep(ctx context.Context, d time.Duration) error {
	w.timer.Reset(d/2 + rand.N(d/2+1))
	select {
	case <-w.timer.C:
		return nil
	case <-ctx.Done():
		w.timer.Stop()
		return ctx.Err()
	}
}

// attempt sends body once and waits for the answer, heartbeats resetting
// the silence allowed. An error means the call is over: ctx ended, or the
// connection failed. A cancellable call whose ctx is cancelled tells the
// members, so that the one holding the task ends its ctx; one whose
// deadline passed need not, since the member has the same deadline.
func (w *caller[In, Out]) attempt(ctx context.Context, body []byte, cancellable bool) ([]byte, outcome, error) {
	w.seq++
	w.out = binary.AppendUvarint(w.out[:0], w.seq)
	b := budget(ctx) << 1
	if cancellable {
		b |= 1
	}
	w.out = binary.AppendUvarint(w.out, b)
	w.out = append(append(w.out, w.call...), body...)
	if err := w.c.nc.PublishRequest(w.c.service, w.inbox, w.out); err != nil {
		err = fmt.Errorf("remote: send to %q: %w", w.c.service, err)
		if errors.Is(err, nats.ErrConnectionClosed) {
			// The worker cannot work again: let the pool rebuild it, under
			// its RestartPolicy, and fail loudly if the connection stays
			// closed.
			err = pool.Fatal(err)
		}
		return nil, 0, err
	}
	w.timer.Reset(w.c.opts.LostAfter)
	defer w.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if cancellable && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				_ = w.c.nc.Publish(w.c.cancels, appendCancel(nil, w.seq, w.inbox))
			}
			return nil, 0, ctx.Err()
		case <-w.timer.C:
			return nil, lost, nil
		case m, ok := <-w.msgs:
			if !ok {
				return nil, 0, fmt.Errorf("remote: reply subscription closed: %w", nats.ErrConnectionClosed)
			}
			if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
				return nil, noMembers, nil
			}
			attempt, kind, _, ok := parseAnswer(m.Data)
			switch {
			case !ok || attempt != w.seq:
				continue // from an attempt given up on, or not crew's
			case kind == kindBeat:
				w.timer.Reset(w.c.opts.LostAfter)
			case kind == kindBusy:
				return nil, busy, nil
			default:
				return m.Data, answered, nil
			}
		}
	}
}

// budget returns the milliseconds left before ctx's deadline, at least 1,
// or 0 when ctx has none.
func budget(ctx context.Context) uint64 {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return uint64(max(time.Until(dl).Milliseconds(), 1))
}

// decode turns a member's final answer into the call's result.
func (w *caller[In, Out]) decode(answer []byte) (Out, error) {
	var out Out
	_, kind, payload, _ := parseAnswer(answer)
	switch kind {
	case kindValue:
		if err := decode(w.c.replies, payload, &out); err != nil {
			return out, fmt.Errorf("%w: reply from %q: %w", ErrUndecodable, w.c.service, err)
		}
		return out, nil
	case kindTask:
		var e wire.Error
		if err := decode(w.c.replies, payload, &e); err != nil {
			return out, fmt.Errorf("%w: error from %q: %w", ErrUndecodable, w.c.service, err)
		}
		return out, e.Err()
	case kindTooLarge:
		return out, fmt.Errorf("%w: %s", ErrTooLarge, payload)
	case kindUndecoded:
		return out, fmt.Errorf("%w: %s", ErrUndecodable, payload)
	}
	return out, fmt.Errorf("remote: service %q answered with unknown kind %d", w.c.service, kind)
}
