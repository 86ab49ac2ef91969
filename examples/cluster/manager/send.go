package manager

import (
	"context"
	"errors"
	"fmt"

	"github.com/crewkit/crew/examples/cluster/ipc"
)

// ErrNoChannel is returned by Send for an instance whose child is not
// running or has not joined the manager's channel (see
// examples/cluster/ipc).
var ErrNoChannel = errors.New("manager: no channel to the child")

// Send sends msg to the child of instance id, as Node's worker.send does;
// the child's ipc.ChildOptions.OnMessage receives it. It blocks until msg
// is written to the child's pipe or ctx ends. It returns an error wrapping
// ErrNoChannel when the instance has no running child that said hello.
func (m *Manager) Send(ctx context.Context, id int, msg ipc.Message) error {
	if id < 0 || id >= len(m.instances) {
		return fmt.Errorf("manager: no instance %d; there are %d", id, len(m.instances))
	}
	c := m.instances[id].current()
	if c == nil {
		return fmt.Errorf("instance %d is not running: %w", id, ErrNoChannel)
	}
	if _, ok := c.conn.Hello(); !ok {
		return fmt.Errorf("instance %d (pid %d) did not say hello: %w", id, c.pid, ErrNoChannel)
	}
	if err := c.conn.Send(ctx, msg); err != nil {
		return fmt.Errorf("manager: instance %d (pid %d): %w", id, c.pid, err)
	}
	return nil
}

// Broadcast sends msg to every running child that joined the channel, one
// after the other, and returns how many it reached. It tries every child
// and returns the errors of those it could not reach; children without a
// channel are skipped, not errors.
func (m *Manager) Broadcast(ctx context.Context, msg ipc.Message) (int, error) {
	var errs []error
	n := 0
	for id := range m.instances {
		err := m.Send(ctx, id, msg)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, ErrNoChannel):
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// LastHeartbeat returns the latest heartbeat answer of instance id's
// child, and a channel closed when a newer one arrives. It returns false
// when the instance has no running child; the heartbeat is zero until the
// child's first answer. A child replaced later never closes the channel.
func (m *Manager) LastHeartbeat(id int) (ipc.Heartbeat, <-chan struct{}, bool) {
	if id < 0 || id >= len(m.instances) {
		return ipc.Heartbeat{}, nil, false
	}
	c := m.instances[id].current()
	if c == nil {
		return ipc.Heartbeat{}, nil, false
	}
	hb, next := c.conn.Last()
	return hb, next, true
}
