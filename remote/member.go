package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// DefaultQueueGroup is the NATS queue group members join unless
// MemberOptions.QueueGroup names another.
const DefaultQueueGroup = "crew"

// MemberOptions configures a member. The zero value is valid.
type MemberOptions struct {
	// Codec decodes requests and encodes replies; callers must use the
	// same one. Default wire.Gob.
	Codec wire.Codec
	// MaxPayload is the largest reply the member sends, in bytes; a larger
	// one fails its task with ErrTooLarge at the caller. Default 0: the
	// connection's limit (the server's max_payload).
	MaxPayload int
	// QueueGroup is the NATS queue group of the service's endpoint: one
	// member of the group receives each request. Default DefaultQueueGroup.
	QueueGroup string
	// Version is the micro service's version, in SemVer. Default "1.0.0".
	Version string
	// Description is the micro service's description. Default "".
	Description string
	// OnError, if set, receives the messages for the service's workers
	// (see Broadcast) that the member could not deliver: undecodable, or
	// refused by its pool's Broadcast. Default: logged with log/slog.
	OnError func(error)
}

// Member serves a local pool as a NATS micro service: one endpoint, in a
// queue group, whose requests go to the pool. It is safe for concurrent use.
//
// A request enters the pool at once with TrySubmit, so the subscription's
// callback never waits on a task. When the pool cannot take it (queue full,
// closing, closed or failed) the member answers at once with a busy service
// error and the caller sends the request to another member. While a task is
// queued or running the member sends a heartbeat every interval its caller
// asked for, so the caller can tell a slow task from a dead member.
//
// The service's STATS answer carries the pool's Stats as the endpoint's
// data. The member also listens for its callers' cancels, which end the
// ctx of the task they name, and for messages to the service's workers
// (see Broadcast), which it hands to the pool's Broadcast.
type Member[In, Out any] struct {
	nc    *nats.Conn
	pool  *pool.Pool[In, Out]
	codec wire.Codec
	max   int
	svc   micro.Service

	requests *receiver
	senders  sync.Pool // of *sender[Out]
	cancels  cancels
	onCancel *nats.Subscription
	onMail   *nats.Subscription

	mu       sync.Mutex
	stopping bool
	inflight sync.WaitGroup
}

// Serve registers a micro service named service on nc whose endpoint, on
// the subject service, hands requests to p. It returns once the server has the
// endpoint's subscription. The member does not own p: Stop the member, then close p.
func Serve[In, Out any](nc *nats.Conn, service string, p *pool.Pool[In, Out], opts MemberOptions) (*Member[In, Out], error) {
	if nc == nil || p == nil {
		return nil, errors.New("remote: Serve needs a connection and a pool")
	}
	if opts.MaxPayload < 0 {
		return nil, fmt.Errorf("remote: MemberOptions.MaxPayload must be >= 0, got %d", opts.MaxPayload)
	}
	m := &Member[In, Out]{nc: nc, pool: p, codec: opts.Codec, max: opts.MaxPayload}
	if m.codec == nil {
		m.codec = wire.Gob
	}
	if m.max == 0 {
		m.max = int(nc.MaxPayload())
	}
	m.requests = newReceiver(m.codec)
	m.senders.New = func() any { return newSender[Out](m.codec) }
	group := opts.QueueGroup
	if group == "" {
		group = DefaultQueueGroup
	}
	version := opts.Version
	if version == "" {
		version = "1.0.0"
	}
	// Cancels and messages first: once the endpoint exists, requests come,
	// and their cancels must find a listener.
	var err error
	m.onCancel, err = nc.Subscribe(cancelSubject(service), func(msg *nats.Msg) {
		if key, ok := parseCancel(msg.Data); ok {
			m.cancels.cancel(key, time.Now())
		}
	})
	if err == nil {
		m.onMail, err = deliverMail(nc, service, m.codec, p, opts.OnError)
	}
	if err == nil {
		m.svc, err = micro.AddService(nc, micro.Config{
			Name:         service,
			Version:      version,
			Description:  opts.Description,
			Metadata:     map[string]string{"codec": m.codec.Name()},
			QueueGroup:   group,
			StatsHandler: func(*micro.Endpoint) any { return p.Stats() },
			Endpoint: &micro.EndpointConfig{
				Subject: service,
				Handler: micro.HandlerFunc(m.handle),
			},
		})
	}
	if err == nil {
		// The server has the subscriptions once it answers a ping: from
		// then on callers on any connection reach this member.
		err = nc.Flush()
	}
	if err != nil {
		if m.svc != nil {
			_ = m.svc.Stop()
		}
		_ = m.unsubscribe()
		return nil, fmt.Errorf("remote: serve %q: %w", service, err)
	}
	return m, nil
}

// ID returns the member's service instance ID, unique among the members.
func (m *Member[In, Out]) ID() string { return m.svc.Info().ID }

// Service returns the underlying micro service, for its Info and Stats.
func (m *Member[In, Out]) Service() micro.Service { return m.svc }

// Stop stops taking requests, then waits until every task the member took
// has been answered; their callers can still cancel them, and messages
// still reach the pool, until Stop returns. Requests that arrive meanwhile
// are answered busy, so their callers go to another member. If ctx ends
// first, Stop returns ctx.Err(); the tasks still running are the pool's,
// which Close cancels. Stop does not close the pool.
func (m *Member[In, Out]) Stop(ctx context.Context) error {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	err := m.svc.Stop()
	done := make(chan struct{})
	go func() {
		m.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	if uerr := m.unsubscribe(); uerr != nil {
		err = errors.Join(err, fmt.Errorf("remote: stop %q: %w", m.svc.Info().Name, uerr))
	}
	return err
}

// unsubscribe ends the subscriptions of cancels and messages.
func (m *Member[In, Out]) unsubscribe() error {
	return unsubscribe(m.onCancel, m.onMail)
}

// handle runs on the endpoint subscription's goroutine: it must not wait.
func (m *Member[In, Out]) handle(req micro.Request) {
	c, payload, ok := parseCall(req.Data())
	if !ok {
		_ = req.Error(errorCodes[kindUndecoded], "request without a crew call prefix", nil)
		return
	}
	answer := func(kind byte, msg string) {
		_ = req.Error(errorCodes[kind], msg, append(appendAnswer(nil, c.attempt, kind), msg...))
	}
	if string(c.codec) != m.codec.Name() {
		answer(kindUndecoded, fmt.Sprintf("request in codec %s, member decodes %s", c.codec, m.codec.Name()))
		return
	}
	var in In
	if err := decode(m.requests, payload, &in); err != nil {
		answer(kindUndecoded, err.Error())
		return
	}
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		answer(kindBusy, "member stopping")
		return
	}
	m.inflight.Add(1)
	m.mu.Unlock()
	// A task's ctx ends at its caller's deadline, past which it is not
	// worth starting (the pool drops it if it is still queued then), and
	// when its caller sends a cancel. A ctx that cannot end keeps the pool
	// on its fast path.
	ctx, cancel := context.Background(), context.CancelFunc(nil)
	switch {
	case c.budget > 0:
		ctx, cancel = context.WithTimeout(ctx, c.budget)
	case c.cancellable:
		ctx, cancel = context.WithCancel(ctx)
	}
	key := taskKey{reply: req.Reply(), attempt: c.attempt}
	if c.cancellable && !m.cancels.add(key, cancel) {
		// Its cancel overtook it: the caller has given up.
		cancel()
		m.inflight.Done()
		return
	}
	fut, err := m.pool.TrySubmit(ctx, in)
	if err != nil {
		m.forget(c, key, cancel)
		m.inflight.Done()
		answer(kindBusy, err.Error())
		return
	}
	go m.await(key, c, fut, cancel)
}

// forget releases what a task held for its cancellation.
func (m *Member[In, Out]) forget(c call, key taskKey, cancel context.CancelFunc) {
	if c.cancellable {
		m.cancels.remove(key)
	}
	if cancel != nil {
		cancel()
	}
}

// await answers a task once it resolves, with heartbeats until then.
func (m *Member[In, Out]) await(key taskKey, c call, fut *pool.Future[Out], cancel context.CancelFunc) {
	defer m.inflight.Done()
	defer m.forget(c, key, cancel)
	reply := key.reply
	if c.heartbeat > 0 {
		m.beat(reply, c, fut)
	}
	out, err := fut.Wait(context.Background())
	if err == nil {
		var prefix [11]byte
		enc := m.senders.Get().(*sender[Out])
		body, encErr := enc.encode(appendAnswer(prefix[:0], c.attempt, kindValue), out)
		switch {
		case encErr != nil:
			err = fmt.Errorf("remote: encode reply: %w", encErr)
		case len(body) > m.max:
			m.fail(reply, c, kindTooLarge, []byte(fmt.Sprintf("reply of %d bytes over the %d-byte limit", len(body), m.max)))
		default:
			_ = m.nc.Publish(reply, body)
		}
		m.senders.Put(enc)
		if err == nil {
			return
		}
	}
	m.fail(reply, c, kindTask, m.encodeError(err))
}

// encodeError encodes a task's error self-contained: errors are rare, and
// keep no stream.
func (m *Member[In, Out]) encodeError(err error) []byte {
	enc := m.codec.NewEncoder()
	body, encErr := enc.Encode(wire.FromError(err))
	if encErr != nil || len(body)+16 > m.max {
		body, _ = enc.Encode(&wire.Error{Msg: err.Error()})
	}
	return append([]byte{plain}, body...)
}

// beat sends a heartbeat every c.heartbeat until fut resolves.
func (m *Member[In, Out]) beat(reply string, c call, fut *pool.Future[Out]) {
	select {
	case <-fut.Done():
		return // the common case: no timer
	default:
	}
	beat := appendAnswer(nil, c.attempt, kindBeat)
	t := time.NewTimer(c.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-fut.Done():
			return
		case <-t.C:
			_ = m.nc.Publish(reply, beat)
			t.Reset(c.heartbeat)
		}
	}
}

// fail publishes an error answer with micro's error headers. It is not
// req.Error because that records the error on the request, which the service
// reads when the handler returns, and this runs later, on another goroutine.
func (m *Member[In, Out]) fail(reply string, c call, kind byte, payload []byte) {
	desc := "task failed"
	if kind != kindTask {
		desc = string(payload)
	}
	h := nats.Header{micro.ErrorCodeHeader: {errorCodes[kind]}, micro.ErrorHeader: {desc}}
	data := append(appendAnswer(nil, c.attempt, kind), payload...)
	_ = m.nc.PublishMsg(&nats.Msg{Subject: reply, Header: h, Data: data})
}
