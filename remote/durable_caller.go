package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

type taskIDKey struct{}

// WithTaskID gives the durable call made with the returned ctx the task ID
// id. The stream drops a task whose ID it saw within DedupeWindow, so a
// caller that publishes the same task again after a crash, with the same
// ID, does not make it run twice. A deliberate new task must have a new ID.
// Without WithTaskID each call gets a fresh unique ID.
func WithTaskID(ctx context.Context, id string) context.Context {
	return withMark(ctx, taskIDKey{}, id)
}

// DurableFactory returns a pool.Factory whose workers publish each task to
// the service's work-queue stream, with a task ID, and wait for the answer
// of the member that ran it. The stream keeps the task until a member
// acknowledges it, so a member's death does not lose it: it runs at least
// once. The answer itself travels on core NATS: a caller that gave up (its
// ctx ended) or died does not get it, though the task still runs.
//
// Members create the stream: until one has, a call publishes again with
// backoff for DurableOptions.NoMembersWait, then fails with ErrNoMembers.
// DurableFactory panics with a message starting with "remote:" when opts
// are invalid.
func DurableFactory[In, Out any](nc *nats.Conn, service string, opts DurableOptions) pool.Factory[In, Out] {
	o, err := opts.withDefaults(service)
	if err == nil && nc == nil {
		err = errors.New("remote: DurableFactory needs a connection")
	}
	if err != nil {
		panic(err.Error())
	}
	js, err := jetstream.New(nc)
	if err != nil {
		panic("remote: jetstream: " + err.Error())
	}
	co, _ := Options{Codec: o.Codec, OnEvent: o.OnEvent, NoMembersWait: o.NoMembersWait}.withDefaults()
	c := &client{nc: nc, service: service, opts: co, max: o.MaxPayload, replies: newReceiver(o.Codec)}
	if c.max == 0 {
		c.max = int(nc.MaxPayload())
	}
	return func(ctx context.Context, info pool.WorkerInfo) (pool.Worker[In, Out], error) {
		w, err := newCaller[In, Out](c)
		if err != nil {
			return nil, err
		}
		return &durableCaller[In, Out]{caller: w, js: js}, nil
	}
}

// ErrDuplicateTask means a durable call's task ID was published within the
// stream's DedupeWindow already: the stream dropped this copy, and the
// first one's answer went to the call that published it.
var ErrDuplicateTask = errors.New("remote: duplicate task ID")

// durableCaller is one durable worker: one call at a time, on its own inbox.
type durableCaller[In, Out any] struct {
	*caller[In, Out]
	js jetstream.JetStream
}

// Handle publishes in to the stream and waits for its answer or ctx.
func (w *durableCaller[In, Out]) Handle(ctx context.Context, in In) (Out, error) {
	var zero Out
	body, err := w.enc.encode(nil, in)
	if err != nil {
		return zero, fmt.Errorf("remote: encode request: %w", err)
	}
	w.seq++
	w.out = append(appendCall(w.out[:0], w.seq, 0, 0, w.c.opts.Codec.Name()), body...)
	if len(w.out) > w.c.max {
		return zero, fmt.Errorf("%w: request of %d bytes over the %d-byte limit", ErrTooLarge, len(w.out), w.c.max)
	}
	id, _ := ctx.Value(taskIDKey{}).(string)
	if id == "" {
		id = nuid.Next()
	}
	msg := &nats.Msg{Subject: tasksSubject(w.c.service), Data: w.out, Header: nats.Header{
		replyHeader: {w.inbox}, jetstream.MsgIDHeader: {id},
	}}
	ack, err := w.publish(ctx, msg)
	if err != nil {
		return zero, err
	}
	if ack.Duplicate {
		return zero, fmt.Errorf("%w: %s", ErrDuplicateTask, id)
	}
	for {
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case m, ok := <-w.msgs:
			if !ok {
				return zero, fmt.Errorf("remote: reply subscription closed: %w", nats.ErrConnectionClosed)
			}
			attempt, kind, payload, ok := parseAnswer(m.Data)
			switch {
			case !ok || attempt != w.seq:
				continue
			case kind == kindDead:
				return zero, fmt.Errorf("%w: task %s: %s", ErrDeadLetter, id, payload)
			case kind == kindRedelivered:
				n, _ := binary.Uvarint(payload)
				w.c.emit(Redelivered, int(n))
				continue
			}
			return w.decode(m.Data)
		}
	}
}

// publish publishes a task to the stream, and while no member has created
// the stream publishes it again with backoff, for NoMembersWait.
func (w *durableCaller[In, Out]) publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	wait := w.c.opts.Backoff
	var giveUp time.Time
	for attempt := 1; ; attempt++ {
		ack, err := w.js.PublishMsg(ctx, msg, jetstream.WithRetryAttempts(0))
		if err == nil {
			return ack, nil
		}
		if !errors.Is(err, jetstream.ErrNoStreamResponse) {
			return nil, fmt.Errorf("remote: publish task to %q: %w", w.c.service, err)
		}
		w.c.emit(NoResponders, attempt)
		if w.c.opts.NoMembersWait < 0 {
			return nil, fmt.Errorf("%w on %q: no member has created its stream", ErrNoMembers, w.c.service)
		}
		left := w.membersLeft(&giveUp)
		if left <= 0 {
			return nil, fmt.Errorf("%w on %q: no member created its stream within %v", ErrNoMembers, w.c.service, w.c.opts.NoMembersWait)
		}
		if err := w.sleep(ctx, min(wait, left)); err != nil {
			return nil, err
		}
		wait = min(2*wait, w.c.opts.MaxBackoff)
	}
}
