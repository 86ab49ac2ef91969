package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DurableMember takes a service's tasks from a JetStream work-queue stream
// and runs them on a local pool. Every member of a service pulls from one
// durable consumer, so each task goes to one member at a time. A task is
// acknowledged only after it finished and its answer was sent; a member that
// dies first lets AckWait pass and the server delivers the task to another
// member. It is safe for concurrent use.
type DurableMember[In, Out any] struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	pool    *pool.Pool[In, Out]
	opts    DurableOptions
	service string
	max     int
	iter    jetstream.MessagesContext
	onMail  *nats.Subscription

	requests *receiver
	senders  sync.Pool // of *sender[Out]
	done     *answers

	ctx     context.Context
	cancel  context.CancelFunc
	slots   chan struct{}
	loop    sync.WaitGroup
	tasks   sync.WaitGroup
	stopped atomic.Bool
}

// ServeDurable creates or updates the service's work-queue stream, its
// dead-letter stream and the members' durable consumer, then pulls tasks
// into p until Stop. ctx bounds the setup only.
func ServeDurable[In, Out any](ctx context.Context, nc *nats.Conn, service string, p *pool.Pool[In, Out], opts DurableOptions) (*DurableMember[In, Out], error) {
	if nc == nil || p == nil {
		return nil, errors.New("remote: ServeDurable needs a connection and a pool")
	}
	o, err := opts.withDefaults(service)
	if err != nil {
		return nil, err
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = p.Stats().Max
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("remote: jetstream: %w", err)
	}
	m := &DurableMember[In, Out]{nc: nc, js: js, pool: p, opts: o, service: service, max: o.MaxPayload,
		requests: newReceiver(o.Codec), done: newAnswers(4096, 16<<20), slots: make(chan struct{}, o.MaxInFlight)}
	if m.max == 0 {
		m.max = int(nc.MaxPayload())
	}
	m.senders.New = func() any { return newSender[Out](o.Codec) }
	cons, err := m.setup(ctx)
	if err != nil {
		return nil, fmt.Errorf("remote: serve durable %q: %w", service, err)
	}
	m.onMail, err = deliverMail(nc, service, o.Codec, p, o.OnError)
	if err == nil {
		// The server has the subscription once it answers a ping: from
		// then on a Broadcast on any connection reaches this member, as
		// for Serve.
		if err = nc.Flush(); err != nil {
			_ = unsubscribe(m.onMail)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("remote: serve durable %q: %w", service, err)
	}
	m.iter, err = cons.Messages(jetstream.PullMaxMessages(o.MaxInFlight))
	if err != nil {
		_ = unsubscribe(m.onMail)
		return nil, fmt.Errorf("remote: serve durable %q: %w", service, err)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.loop.Add(1)
	go m.pull()
	return m, nil
}

// setup creates or updates the streams and the consumer.
func (m *DurableMember[In, Out]) setup(ctx context.Context) (jetstream.Consumer, error) {
	o := m.opts
	if _, err := m.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       tasksStream(m.service),
		Subjects:   []string{tasksSubject(m.service)},
		Retention:  jetstream.WorkQueuePolicy,
		Duplicates: o.DedupeWindow,
		MaxMsgs:    o.MaxPending,
		Discard:    jetstream.DiscardNew,
	}); err != nil {
		return nil, err
	}
	if _, err := m.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     deadStream(m.service),
		Subjects: []string{DeadSubject(m.service)},
		MaxMsgs:  o.MaxPending,
	}); err != nil {
		return nil, err
	}
	// One more delivery than MaxDeliver, so that a member sees the task
	// that ran out of deliveries and moves it to the dead letters.
	return m.js.CreateOrUpdateConsumer(ctx, tasksStream(m.service), jetstream.ConsumerConfig{
		Durable:       consumerName(m.service),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       o.AckWait,
		MaxDeliver:    o.MaxDeliver + 1,
		MaxAckPending: max(1024, 4*o.MaxInFlight),
	})
}

// Stop stops pulling, hands back the tasks pulled but not started (the
// server delivers them again at once), then waits until every task the
// member started has been answered and acknowledged. If ctx ends first it
// cancels those tasks and returns ctx.Err(); their tasks are delivered again
// after AckWait. Stop does not close the pool.
func (m *DurableMember[In, Out]) Stop(ctx context.Context) error {
	if m.stopped.CompareAndSwap(false, true) {
		m.iter.Drain()
	}
	done := make(chan struct{})
	go func() {
		m.loop.Wait()
		m.tasks.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		m.iter.Stop()
		err = ctx.Err()
	}
	m.cancel()
	if uerr := unsubscribe(m.onMail); uerr != nil {
		err = errors.Join(err, fmt.Errorf("remote: stop durable %q: %w", m.service, uerr))
	}
	return err
}

// pull takes one task per free slot.
func (m *DurableMember[In, Out]) pull() {
	defer m.loop.Done()
	for {
		m.slots <- struct{}{}
		msg, err := m.iter.Next()
		if err != nil {
			<-m.slots
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			continue // a missed heartbeat: the iterator goes on
		}
		if m.stopped.Load() {
			_ = msg.Nak()
			<-m.slots
			continue
		}
		m.tasks.Add(1)
		go m.run(msg)
	}
}

// run runs one task and answers it, then acknowledges it.
func (m *DurableMember[In, Out]) run(msg jetstream.Msg) {
	defer func() {
		<-m.slots
		m.tasks.Done()
	}()
	reply := msg.Headers().Get(replyHeader)
	id := msg.Headers().Get(jetstream.MsgIDHeader)
	c, payload, ok := parseCall(msg.Data())
	if !ok {
		_ = msg.Term()
		return
	}
	if answer, ok := m.done.get(id); ok {
		// Delivered again after it finished: its ack was lost. Answer
		// from memory rather than run it twice.
		m.publish(reply, answer)
		_ = msg.Ack()
		return
	}
	if meta, err := msg.Metadata(); err == nil && meta.NumDelivered > 1 {
		if meta.NumDelivered > uint64(m.opts.MaxDeliver) {
			m.deadLetter(msg, reply, c, meta.NumDelivered)
			return
		}
		// The member that had it died: tell the caller, who still waits.
		m.publish(reply, binary.AppendUvarint(appendAnswer(nil, c.attempt, kindRedelivered), meta.NumDelivered))
	}
	if string(c.codec) != m.opts.Codec.Name() {
		m.finish(msg, id, reply, m.errorAnswer(c, kindUndecoded, fmt.Sprintf("request in codec %s, member decodes %s", c.codec, m.opts.Codec.Name())))
		return
	}
	var in In
	if err := decode(m.requests, payload, &in); err != nil {
		m.finish(msg, id, reply, m.errorAnswer(c, kindUndecoded, err.Error()))
		return
	}
	fut, err := m.pool.Submit(m.ctx, in)
	if err != nil {
		_ = msg.Nak() // this member's pool cannot take it: another one may
		return
	}
	m.keepAlive(msg, fut)
	out, err := fut.Wait(context.Background())
	if m.ctx.Err() != nil {
		return // Stop gave up on it: it will be delivered again
	}
	m.finish(msg, id, reply, m.answer(c, out, err))
}

// keepAlive sends in-progress acknowledgements until fut resolves.
func (m *DurableMember[In, Out]) keepAlive(msg jetstream.Msg, fut *pool.Future[Out]) {
	t := time.NewTicker(m.opts.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-fut.Done():
			return
		case <-t.C:
			_ = msg.InProgress()
		}
	}
}

// answer encodes a task's outcome for its caller.
func (m *DurableMember[In, Out]) answer(c call, out Out, err error) []byte {
	if err == nil {
		var prefix [11]byte
		enc := m.senders.Get().(*sender[Out])
		defer m.senders.Put(enc)
		body, encErr := enc.encode(appendAnswer(prefix[:0], c.attempt, kindValue), out)
		switch {
		case encErr != nil:
			err = fmt.Errorf("remote: encode reply: %w", encErr)
		case len(body) > m.max:
			return m.errorAnswer(c, kindTooLarge, fmt.Sprintf("reply of %d bytes over the %d-byte limit", len(body), m.max))
		default:
			return append([]byte(nil), body...)
		}
	}
	enc := m.opts.Codec.NewEncoder()
	body, encErr := enc.Encode(wire.FromError(err))
	if encErr != nil || len(body)+16 > m.max {
		body, _ = enc.Encode(&wire.Error{Msg: err.Error()})
	}
	return append(append(appendAnswer(nil, c.attempt, kindTask), plain), body...)
}

func (m *DurableMember[In, Out]) errorAnswer(c call, kind byte, msg string) []byte {
	return append(appendAnswer(nil, c.attempt, kind), msg...)
}

// finish sends the answer, remembers it, then acknowledges the task: a
// member that dies in between leaves the task to be delivered again.
func (m *DurableMember[In, Out]) finish(msg jetstream.Msg, id, reply string, answer []byte) {
	m.publish(reply, answer)
	m.done.put(id, answer)
	_ = msg.Ack()
}

func (m *DurableMember[In, Out]) publish(reply string, answer []byte) {
	if reply != "" {
		_ = m.nc.Publish(reply, answer)
	}
}

// deadLetter moves a task that ran out of deliveries to the dead-letter
// stream, tells its caller, and removes it from the work queue.
func (m *DurableMember[In, Out]) deadLetter(msg jetstream.Msg, reply string, c call, delivered uint64) {
	h := nats.Header{}
	for k, v := range msg.Headers() {
		if k != jetstream.MsgIDHeader { // the dead stream dedupes on its own
			h[k] = v
		}
	}
	h.Set("Crew-Task-Id", msg.Headers().Get(jetstream.MsgIDHeader))
	h.Set("Crew-Deliveries", fmt.Sprint(delivered-1))
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.AckWait/3)
	defer cancel()
	if _, err := m.js.PublishMsg(ctx, &nats.Msg{Subject: DeadSubject(m.service), Header: h, Data: msg.Data()}); err != nil {
		return // not acknowledged: delivered again, dead-lettered again
	}
	m.publish(reply, m.errorAnswer(c, kindDead, fmt.Sprintf("delivered %d times without an ack", delivered-1)))
	_ = msg.Term()
}

// answers remembers the answers of recent tasks by task ID, to answer a
// task delivered again after its ack was lost without running it again. It
// keeps at most n answers and maxBytes of them, dropping the oldest first.
type answers struct {
	mu       sync.Mutex
	byID     map[string][]byte
	order    []string // a ring, oldest at next
	next     int
	bytes    int
	maxBytes int
}

func newAnswers(n, maxBytes int) *answers {
	return &answers{byID: make(map[string][]byte, n), order: make([]string, n), maxBytes: maxBytes}
}

func (a *answers) get(id string) ([]byte, bool) {
	if id == "" {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.byID[id]
	return b, ok
}

func (a *answers) put(id string, answer []byte) {
	if id == "" || len(answer) > a.maxBytes {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.byID[id]; ok {
		return
	}
	a.evict(a.next)
	a.order[a.next] = id
	a.byID[id] = answer
	a.bytes += len(answer)
	a.next = (a.next + 1) % len(a.order)
	for i := a.next; a.bytes > a.maxBytes; i = (i + 1) % len(a.order) {
		a.evict(i)
	}
}

// evict forgets the answer at ring position i, if any.
func (a *answers) evict(i int) {
	if old := a.order[i]; old != "" {
		a.bytes -= len(a.byID[old])
		delete(a.byID, old)
		a.order[i] = ""
	}
}
