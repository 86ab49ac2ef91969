package pool

import (
	"fmt"
	"time"

	"github.com/crewkit/crew/messaging"
)

// EventKind says what happened in an Event.
type EventKind int

// The lifecycle events a pool reports to Options.OnEvent.
const (
	// WorkerStarted: the factory built a worker.
	WorkerStarted EventKind = iota + 1
	// WorkerExited: a worker was retired (idle, shrink, reload, recycle or
	// close) or discarded after a crash; Err says why when it crashed.
	WorkerExited
	// WorkerRestarted: a worker is being rebuilt after a crash or a factory
	// failure; Err is the failure.
	WorkerRestarted
	// WorkerRecycled: a worker reached MaxTasksPerWorker and is replaced.
	WorkerRecycled
	// WorkerHung: a task ignored its cancelled context past HungGrace; its
	// goroutine is abandoned and a fresh worker takes the slot.
	WorkerHung
	// WorkerBackoff: the next rebuild waits Delay.
	WorkerBackoff
	// PoolFailed: the restart policy gave up; Err is the last failure.
	PoolFailed
	// PoolReloaded: Reload replaced every worker.
	PoolReloaded
	// PoolClosed: Close finished; Err is Close's error, if any.
	PoolClosed
	// PoolStalled: work is queued, every worker is busy, and no task
	// started or finished for a whole IdleTimeout (see Stats.Stalled); Err
	// describes it.
	PoolStalled
)

var eventNames = [...]string{"", "worker started", "worker exited", "worker restarted",
	"worker recycled", "worker hung", "worker backoff", "pool failed", "pool reloaded", "pool closed",
	"pool stalled"}

// String returns the kind in words, such as "worker hung".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one lifecycle event of a pool.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Pool is the pool's Options.Name.
	Pool string
	// Worker is the worker's ID, or zero for pool-wide events.
	Worker int
	// Err is the failure behind the event, if any.
	Err error
	// Delay is the backoff before the next rebuild (WorkerBackoff).
	Delay time.Duration
	// Time is when the event happened.
	Time time.Time
}

// String formats the event for logs.
func (e Event) String() string {
	s := fmt.Sprintf("%s %s", e.Pool, e.Kind)
	if e.Worker != 0 {
		s += fmt.Sprintf(" worker=%d", e.Worker)
	}
	if e.Delay != 0 {
		s += fmt.Sprintf(" delay=%v", e.Delay)
	}
	if e.Err != nil {
		s += fmt.Sprintf(" err=%v", e.Err)
	}
	return s
}

const eventBuffer = 256

// events delivers events to a hook from one goroutine, so that the hook runs
// outside locks and a slow hook never stalls the pool.
type events struct {
	port *messaging.Port[Event]
	done chan struct{}
}

func newEvents(hook func(Event)) *events {
	if hook == nil {
		return nil
	}
	e := &events{
		port: messaging.NewPort(messaging.Options[Event]{Capacity: eventBuffer, Policy: messaging.DropOldest, Name: "events"}),
		done: make(chan struct{}),
	}
	go func() {
		defer close(e.done)
		for ev := range e.port.C() {
			hook(ev)
		}
	}()
	return e
}

func (e *events) emit(ev Event) {
	if e != nil {
		_ = e.port.TrySend(ev) // never blocks: the oldest event is dropped when full
	}
}

// stop delivers the remaining events and waits for the hook to return, or for
// timeout, whichever is first.
func (e *events) stop(timeout <-chan time.Time) bool {
	if e == nil {
		return true
	}
	e.port.Close()
	select {
	case <-e.done:
		return true
	case <-timeout:
		return false
	}
}
