package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sourcegraph/conc/panics"
)

// Receiver is implemented by workers that take messages from their pool's
// owner, sent with Pool.Send or Pool.Broadcast: the way a Node worker
// listens on parentPort. Receive runs on the worker's own goroutine between
// two tasks, never during one, so a worker still needs no locks. ctx ends
// when the pool is closed. A panic or an error marked with Fatal discards the
// worker, as it would from Handle; any other error goes to Options.OnError.
type Receiver interface {
	Receive(ctx context.Context, msg any) error
}

var (
	// ErrNoWorker is returned by Send for a worker ID that no live worker
	// has: it exited, was replaced, or never existed.
	ErrNoWorker = errors.New("pool: no such worker")
	// ErrMailboxFull is returned by Send, and joined into Broadcast's
	// error, for a worker with MailboxSize messages not yet received.
	ErrMailboxFull = errors.New("pool: mailbox full")
)

// MailboxSize is how many messages may wait for one worker.
const MailboxSize = 64

// mailbox holds a slot's messages until its goroutine delivers them.
type mailbox struct {
	mu      sync.Mutex
	letters []letter
	dead    death // the last WorkerInfo.Crashed report not yet acted on
	closed  bool  // the slot exited: nothing is delivered any more
}

// death is a worker's report that it died while idle (WorkerInfo.Crashed).
// worker is 0 when there is none.
type death struct {
	worker int
	err    error
}

// Outcomes of post.
const (
	posted = iota
	mailboxFull
	mailboxClosed
)

// letter is a message and the worker it is for; 0 means whichever worker
// the slot has when it delivers (a broadcast).
type letter struct {
	to  int
	msg any
}

// Send queues msg for the worker with the given ID (WorkerInfo.ID, or
// Event.Worker). It never waits: ErrNoWorker when no live worker has that
// ID (workers are built in the background: a WorkerStarted event says when
// one is live), ErrMailboxFull when MailboxSize messages already wait for it,
// ErrClosed once Close began. The worker receives msg through its Receiver
// after the task it is running, if any. A message whose worker exits first
// is reported to Options.OnError, as is one for a worker that does not
// implement Receiver. It is safe for concurrent use; messages from one
// goroutine to one worker arrive in order. Finding the worker costs time in
// proportion to the number of workers.
func (p *Pool[In, Out]) Send(worker int, msg any) error {
	if p.state.Load() != stateOpen {
		return p.stateErr()
	}
	if worker <= 0 {
		return p.mailErr(worker, ErrNoWorker)
	}
	p.mu.Lock()
	var to *slot[In, Out]
	for s := range p.slots {
		if s.wid.Load() == int64(worker) {
			to = s
			break
		}
	}
	p.mu.Unlock()
	if to == nil {
		return p.mailErr(worker, ErrNoWorker)
	}
	switch p.post(to, letter{to: worker, msg: msg}) {
	case mailboxFull:
		return p.mailErr(worker, ErrMailboxFull)
	case mailboxClosed:
		return p.mailErr(worker, ErrNoWorker)
	}
	p.nudge() // a parked slot wakes to deliver it
	return nil
}

// Broadcast queues msg for every live worker and returns how many it was
// queued for. A worker being rebuilt gets it once built. Like Send, it never
// waits: workers whose mailboxes are full are skipped, and the error says
// how many (it matches ErrMailboxFull). ErrClosed once Close began.
func (p *Pool[In, Out]) Broadcast(msg any) (int, error) {
	if p.state.Load() != stateOpen {
		return 0, p.stateErr()
	}
	p.mu.Lock()
	slots := make([]*slot[In, Out], 0, len(p.slots))
	for s := range p.slots {
		slots = append(slots, s)
	}
	p.mu.Unlock()
	n, full := 0, 0
	for _, s := range slots {
		switch p.post(s, letter{msg: msg}) {
		case posted:
			n++
		case mailboxFull:
			full++
		}
	}
	if n > 0 {
		p.nudge()
	}
	if full > 0 {
		return n, describe(head(p.opts.Name), fmt.Sprintf("%d of %d workers", full, n+full), nil, ErrMailboxFull)
	}
	return n, nil
}

// mailbox returns the slot's mailbox, making it on first use.
func (s *slot[In, Out]) mailbox() *mailbox {
	if m := s.mail.Load(); m != nil {
		return m
	}
	s.mail.CompareAndSwap(nil, new(mailbox))
	return s.mail.Load()
}

// waiting reports whether letters or a death report wait in m.
func (m *mailbox) waiting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.letters) > 0 || m.dead.worker != 0
}

// deathHook carries WorkerInfo.Crashed to the slot that holds the worker.
// A slot's build makes it bound (see crashed); the worker New builds before
// any slot exists gets an unbound one, which keeps a report until the slot
// that takes the worker binds it.
type deathHook struct {
	mu  sync.Mutex
	to  func(error) // the slot's report, once bound
	err error       // a report made before then, if any
}

func (h *deathHook) report(err error) {
	h.mu.Lock()
	to := h.to
	if to == nil && h.err == nil {
		h.err = err
	}
	h.mu.Unlock()
	if to != nil {
		to(err)
	}
}

// bind sends h's reports, the one kept included, to the slot of other.
func (h *deathHook) bind(other *deathHook) {
	h.mu.Lock()
	h.to = other.report
	err := h.err
	h.mu.Unlock()
	if err != nil {
		other.report(err)
	}
}

// crashed returns the death hook of worker id, held by slot s. A report
// waits in the slot's mailbox, whatever its bound, and counts in
// mailPending, so that the slot's loop finds it where it finds letters
// (see deliver), and the nudge wakes the slot if it is parked.
func (p *Pool[In, Out]) crashed(s *slot[In, Out], id int) *deathHook {
	return &deathHook{to: func(err error) {
		m := s.mailbox()
		m.mu.Lock()
		if m.closed || m.dead.worker >= id {
			// The slot exited, or the death is known already, or a later
			// worker of the slot reported its own: worker IDs only grow, so
			// this report is about a worker the slot discarded already.
			m.mu.Unlock()
			return
		}
		if m.dead.worker == 0 {
			p.mailPending.Add(1)
		}
		m.dead = death{worker: id, err: err} // a pending report about an older worker is stale
		m.mu.Unlock()
		p.nudge()
	}}
}

// mailErr describes a message refused for worker.
func (p *Pool[In, Out]) mailErr(worker int, kind error) error {
	return describe(head(p.opts.Name), fmt.Sprintf("worker %d", worker), nil, kind)
}

// post adds l to the mailbox of s.
func (p *Pool[In, Out]) post(s *slot[In, Out], l letter) int {
	m := s.mailbox()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return mailboxClosed
	case len(m.letters) >= MailboxSize:
		return mailboxFull
	}
	m.letters = append(m.letters, l)
	p.mailPending.Add(1)
	return posted
}

// collect takes every letter waiting for s, and the death report if any.
func (p *Pool[In, Out]) collect(s *slot[In, Out]) ([]letter, death) {
	m := s.mail.Load()
	if m == nil {
		return nil, death{}
	}
	m.mu.Lock()
	letters, d := m.letters, m.dead
	m.letters, m.dead = nil, death{}
	m.mu.Unlock()
	n := len(letters)
	if d.worker != 0 {
		n++
	}
	p.mailPending.Add(-int64(n))
	return letters, d
}

// deliver hands the slot's letters to its worker, on the slot's goroutine
// with the worker owned. The slot's loop checks mailPending, a pool-wide
// count, before calling it, so a pool nobody writes to pays one load per
// task.
func (p *Pool[In, Out]) deliver(s *slot[In, Out]) {
	if s.w == nil {
		return // the next worker gets them, once built
	}
	letters, d := p.collect(s)
	if d.worker == s.id {
		// The worker died while parked: a crash, as under a task. A
		// report about an earlier worker of the slot is stale: that
		// worker was discarded already, and counted if it crashed.
		p.crash(s, d.err, func() {})
	}
	for i, l := range letters {
		if s.w == nil {
			// A Receive crashed the worker: broadcasts wait for the
			// next one; letters for this one cannot arrive.
			p.requeue(s, letters[i:])
			return
		}
		if l.to != 0 && l.to != s.id {
			p.opts.OnError(fmt.Errorf("%s: message for worker %d undelivered: the worker exited", head(p.opts.Name), l.to))
			continue
		}
		r, ok := s.w.(Receiver)
		if !ok {
			p.opts.OnError(fmt.Errorf("%s: worker %d: message undelivered: the worker does not implement pool.Receiver", head(p.opts.Name), s.id))
			continue
		}
		p.receive(s, r, l.msg)
	}
}

// requeue puts back, in front of any newer ones and whatever the mailbox's
// bound, the broadcasts a crashed worker did not receive: the next worker
// gets them, in order. Letters addressed to the crashed worker are reported
// undelivered.
func (p *Pool[In, Out]) requeue(s *slot[In, Out], letters []letter) {
	keep := letters[:0:0]
	for _, l := range letters {
		if l.to != 0 {
			p.opts.OnError(fmt.Errorf("%s: message for worker %d undelivered: the worker exited", head(p.opts.Name), l.to))
			continue
		}
		keep = append(keep, l)
	}
	m := s.mailbox()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.letters = append(keep, m.letters...)
	p.mailPending.Add(int64(len(keep)))
}

// receive calls Receive, dealing with a panic or a Fatal error as Handle's
// are dealt with.
func (p *Pool[In, Out]) receive(s *slot[In, Out], r Receiver, msg any) {
	var err error
	if rec := panics.Try(func() { err = r.Receive(p.wctx, msg) }); rec != nil {
		pe := &PanicError{Value: rec.Value, Stack: rec.Stack}
		if p.opts.CrashOnPanic {
			panic(rec.Value)
		}
		p.opts.OnError(describe(head(p.opts.Name), fmt.Sprintf("worker %d: Receive", s.id), nil, pe))
		p.crash(s, pe, func() {})
		return
	}
	if err == nil {
		return
	}
	err = describe(head(p.opts.Name), fmt.Sprintf("worker %d: Receive", s.id), nil, err)
	p.opts.OnError(err)
	if IsFatal(err) {
		p.crash(s, err, func() {})
	}
}

// dropMail closes the mailbox of a slot that exits and reports the
// letters left in it.
func (p *Pool[In, Out]) dropMail(s *slot[In, Out]) {
	if s.mail.CompareAndSwap(nil, &p.shut) {
		return // never written to: share the pool's closed mailbox
	}
	m := s.mail.Load()
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	if letters, _ := p.collect(s); len(letters) > 0 && p.state.Load() == stateOpen {
		n := len(letters)
		p.opts.OnError(fmt.Errorf("%s: worker %d exited with %d message(s) undelivered", head(p.opts.Name), s.id, n))
	}
}
