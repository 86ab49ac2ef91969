package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
)

// ErrUnhealthy is wrapped by the exit error of a child the manager
// replaced because it was stuck (see Health).
var ErrUnhealthy = errors.New("manager: unhealthy")

// health is the heartbeat state of one child; only its instance's
// goroutine uses it.
type health struct {
	opts     Health
	sent     uint64    // the last heartbeat sent
	missed   int       // heartbeats left unanswered in a row
	notReady time.Time // since when the child reports not ready; zero if ready
}

// beat is one heartbeat at now: it checks the answer to the previous one
// and the child's readiness, then sends the next. It returns why the child
// is unhealthy, or nil. A child that has not said hello is not checked.
func (h *health) beat(conn *ipc.Conn, now time.Time) error {
	if _, ok := conn.Hello(); !ok {
		return nil
	}
	last, _ := conn.Last()
	if h.sent > 0 {
		h.missed++
		if last.Seq >= h.sent {
			h.missed = 0
		}
		if h.missed >= h.opts.Missed {
			return fmt.Errorf("missed %d heartbeats in a row, %v apart", h.missed, h.opts.Interval)
		}
	}
	switch {
	case last.Seq == 0 || last.Report.Ready:
		h.notReady = time.Time{}
	case h.notReady.IsZero():
		h.notReady = last.At
	}
	if !h.notReady.IsZero() && now.Sub(h.notReady) >= h.opts.NotReadyGrace {
		return fmt.Errorf("reported not ready for longer than %v", h.opts.NotReadyGrace)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.Interval)
	defer cancel()
	h.sent, _ = conn.Ping(ctx) // a ping that fails is a heartbeat missed
	return nil
}
