package manager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The states of an instance, as Status reports them.
const (
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateFailed     = "failed"
	StateStopped    = "stopped"
)

// instance is one of the manager's N places: the child that holds it, and
// its restart history. Its goroutine, run, is the only one that starts or
// stops its children.
type instance struct {
	m      *Manager
	id     int
	reqs   chan chan error // reload requests
	ended  chan struct{}   // closed when run returns
	recent []time.Time     // restarts within the policy's period; run only

	mu       sync.Mutex
	cur      *child // nil while restarting and after the end
	state    string
	restarts int
	lastExit string
	fail     error // why it gave up
	unclean  error // a child that did not stop gracefully
}

func newInstance(m *Manager, id int, c *child) *instance {
	return &instance{m: m, id: id, reqs: make(chan chan error), ended: make(chan struct{}),
		cur: c, state: StateRunning}
}

// run supervises the instance until the manager stops or gives up on it.
func (in *instance) run() {
	defer close(in.ended)
	var beats <-chan time.Time
	if every := in.m.opts.Health.Interval; every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		beats = t.C
	}
	c := in.current()
	for c != nil {
		select {
		case <-c.exited:
			c = in.restart(c, c.exitError())
		case now := <-beats:
			c = in.beat(c, now)
		case reply := <-in.reqs:
			c = in.replace(c, reply)
		case <-in.m.stopping:
			in.stop(c)
			return
		}
	}
}

// stop ends the instance for Stop. A child that exited before Stop
// reached it crashed: that is reported as a crash (EventExited), as it
// would have been a moment earlier, and not as a stop that failed, so
// that what Stop returns does not depend on which of the two the
// instance's goroutine saw first.
func (in *instance) stop(c *child) {
	select {
	case <-c.exited:
		in.m.event(Event{Kind: EventExited, Instance: in.id, PID: c.pid, Err: c.exitError()})
		in.mu.Lock()
		in.lastExit = firstLine(c.exitError().Error())
		in.mu.Unlock()
	default:
		err := in.stopChild(c)
		in.mu.Lock()
		in.unclean = err
		in.mu.Unlock()
	}
	in.set(nil, StateStopped)
}

// beat checks c's health at now (see health.beat) and returns the child
// in place afterwards: c, or its replacement if c crashed or was unhealthy.
func (in *instance) beat(c *child, now time.Time) *child {
	select {
	case <-c.exited: // a crash is reported as such, not as missed heartbeats
		return in.restart(c, c.exitError())
	default:
	}
	if err := c.health.beat(c.conn, now); err != nil {
		return in.restart(c, in.putDown(c, err))
	}
	return c
}

// putDown stops c, which is unhealthy for the reason why: SIGTERM, then
// SIGKILL after Health.KillGrace. It returns the error its restart reports.
func (in *instance) putDown(c *child, why error) error {
	in.m.event(Event{Kind: EventUnhealthy, Instance: in.id, PID: c.pid, Err: why})
	grace := in.m.opts.Health.KillGrace
	how := "stopped"
	if !c.stop(grace, in.m.killing) {
		how = fmt.Sprintf("killed after %v", grace)
	}
	return fmt.Errorf("%w: %w; %s: %w", ErrUnhealthy, why, how, c.exitError())
}

// restart starts a child in place of c, which crashed with err, after the
// policy's backoff; it returns nil when the manager stops or gives up.
func (in *instance) restart(c *child, err error) *child {
	in.m.event(Event{Kind: EventExited, Instance: in.id, PID: c.pid, Err: err})
	in.mu.Lock()
	in.lastExit = firstLine(err.Error())
	in.mu.Unlock()
	for {
		delay, history, ok := in.m.opts.Restart.Next(in.recent, time.Now())
		if !ok {
			return in.giveUp(err)
		}
		in.recent = history
		in.set(nil, StateRestarting)
		in.m.event(Event{Kind: EventRestarting, Instance: in.id, PID: c.pid, Delay: delay})
		if !in.wait(delay) {
			in.set(nil, StateStopped)
			return nil
		}
		nc, serr := in.m.startChild(in.id)
		if serr == nil {
			in.mu.Lock()
			in.restarts++
			in.mu.Unlock()
			in.set(nc, StateRunning)
			in.m.ready(in.id, nc)
			return nc
		}
		if errors.Is(serr, errStopping) {
			in.set(nil, StateStopped)
			return nil
		}
		err = serr
	}
}

// wait sleeps for d, answering reload requests at once (a restarting
// instance has nothing to replace); it returns false if the manager stops.
func (in *instance) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case reply := <-in.reqs:
			reply <- nil
		case <-in.m.stopping:
			return false
		}
	}
}

func (in *instance) giveUp(err error) *child {
	p := in.m.opts.Restart
	gave := fmt.Errorf("instance %d restarted %d times within %v, last exit: %w", in.id, len(in.recent), p.Period, err)
	in.mu.Lock()
	in.fail = gave
	in.mu.Unlock()
	in.set(nil, StateFailed)
	in.m.event(Event{Kind: EventGaveUp, Instance: in.id, Err: gave})
	return nil
}

// replace is one step of a reload: start a new child, wait until it is
// ready, then stop c. It answers reply and returns the child now in place.
func (in *instance) replace(c *child, reply chan<- error) *child {
	nc, err := in.m.startChild(in.id)
	if err != nil {
		reply <- fmt.Errorf("manager: reload: %w", err)
		return c
	}
	in.set(nc, StateRunning)
	in.m.ready(in.id, nc)
	_ = in.stopChild(c) // reported by its event
	in.m.event(Event{Kind: EventReloaded, Instance: in.id, PID: nc.pid, OldPID: c.pid})
	reply <- nil
	return nc
}

// reload asks run to replace the instance's child and waits for the answer.
func (in *instance) reload(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case in.reqs <- reply:
	case <-in.ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopChild stops c gracefully; it returns an error if c had to be killed
// or exited with an error.
func (in *instance) stopChild(c *child) error {
	graceful := c.stop(in.m.stopTimeout(), in.m.killing)
	var err error
	switch {
	case !graceful:
		err = fmt.Errorf("manager: instance %d (pid %d) did not stop within %v; killed", in.id, c.pid, in.m.stopTimeout())
	case c.err != nil:
		err = fmt.Errorf("manager: instance %d (pid %d) stopped with %w", in.id, c.pid, c.exitError())
	}
	in.m.event(Event{Kind: EventStopped, Instance: in.id, PID: c.pid, Err: err})
	return err
}

func (in *instance) current() *child {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cur
}

func (in *instance) set(c *child, state string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.cur, in.state = c, state
}

// failure returns why the instance gave up, or nil.
func (in *instance) failure() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.fail
}

func (in *instance) stopErr() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.unclean
}

func firstLine(s string) string {
	for i, r := range s {
		if r == ';' || r == '\n' {
			return s[:i]
		}
	}
	return s
}
