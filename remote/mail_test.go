package remote_test

import (
	"context"
	"encoding/gob"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// reload is a message type of the tests: gob needs it registered, since it
// travels as an interface value.
type reload struct{ Version int }

func init() { gob.Register(reload{}) }

// listener is a member worker that echoes tasks and passes on the messages
// it receives, with the ID of the worker that received each.
type listener struct {
	id  int
	got chan letter
}

type letter struct {
	worker int
	msg    any
}

func (l listener) Handle(_ context.Context, j job) (string, error) { return "echo " + j.Text, nil }

func (l listener) Receive(_ context.Context, msg any) error {
	l.got <- letter{l.id, msg}
	return nil
}

// listeners starts a pool of n listeners, all built, that the cleanup
// closes.
func listeners(t *testing.T, n int, got chan letter) *pool.Pool[job, string] {
	t.Helper()
	p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[job, string], error) {
		return listener{id: info.ID, got: got}, nil
	}, pool.Options{MinWorkers: n, MaxWorkers: n})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	require.Eventually(t, func() bool { return p.Stats().Workers == n }, 5*time.Second, time.Millisecond)
	return p
}

// serve serves p as service "svc" on its own connection until the cleanup.
func serve(t *testing.T, s *remote.Server, p *pool.Pool[job, string], mo remote.MemberOptions) {
	t.Helper()
	m, err := remote.Serve(connect(t, s), "svc", p, mo)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
}

// receive takes n letters and counts them by message.
func receive(t *testing.T, got chan letter, n int) map[any]int {
	t.Helper()
	seen := map[any]int{}
	for range n {
		l := <-got
		seen[l.msg]++
	}
	return seen
}

func TestMessages(t *testing.T) {
	t.Run("a message sent to a caller's worker reaches every worker of every member once", func(t *testing.T) {
		s := startServer(t)
		got := make(chan letter, 64)
		serve(t, s, listeners(t, 2, got), remote.MemberOptions{})
		serve(t, s, listeners(t, 2, got), remote.MemberOptions{})
		started := make(chan int, 1)
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{MinWorkers: 1, MaxWorkers: 1,
			OnEvent: func(e pool.Event) {
				if e.Kind == pool.WorkerStarted {
					select {
					case started <- e.Worker:
					default: // only the first worker's ID is used
					}
				}
			}})
		id := <-started
		require.NoError(t, p.Send(id, "first"))
		require.NoError(t, p.Send(id, reload{Version: 2}))
		// Each member worker receives its messages in order, so the four
		// copies of the second arrive after the four of the first: eight
		// letters with a fifth copy of either would count it here.
		require.Equal(t, map[any]int{"first": 4, reload{Version: 2}: 4}, receive(t, got, 8))
	})
	t.Run("Broadcast on a caller pool sends one copy per caller worker", func(t *testing.T) {
		s := startServer(t)
		got := make(chan letter, 64)
		serve(t, s, listeners(t, 2, got), remote.MemberOptions{})
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{MinWorkers: 3, MaxWorkers: 3})
		require.Eventually(t, func() bool { return p.Stats().Workers == 3 }, 5*time.Second, time.Millisecond)
		n, err := p.Broadcast("all")
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.Equal(t, map[any]int{"all": 6}, receive(t, got, 6))
	})
	t.Run("Broadcast reaches the workers of durable members too", func(t *testing.T) {
		s := startServer(t)
		got := make(chan letter, 64)
		work := listeners(t, 2, got)
		m, err := remote.ServeDurable(context.Background(), connect(t, s), "svc", work, remote.DurableOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
		require.NoError(t, remote.Broadcast(connect(t, s), "svc", reload{Version: 7}, nil))
		seen := map[int]any{}
		for range 2 {
			l := <-got
			seen[l.worker] = l.msg
		}
		require.Len(t, seen, 2, "each worker once")
		for _, msg := range seen {
			require.Equal(t, reload{Version: 7}, msg)
		}
	})
	t.Run("a member reports a message it cannot decode", func(t *testing.T) {
		s := startServer(t)
		errs := make(chan error, 1)
		serve(t, s, listeners(t, 1, make(chan letter, 1)), remote.MemberOptions{Codec: wire.JSON, OnError: func(err error) { errs <- err }})
		require.NoError(t, remote.Broadcast(connect(t, s), "svc", "hello", wire.Gob))
		err := <-errs
		require.ErrorIs(t, err, remote.ErrUndecodable)
		require.EqualError(t, err, `remote: undecodable payload: message for "svc" in codec gob, member decodes json`)
	})
	t.Run("a caller's worker whose connection closed crashes on a message", func(t *testing.T) {
		s := startServer(t)
		nc, err := s.Connect()
		require.NoError(t, err)
		errs := make(chan error, 16)
		p := callers(t, nc, remote.Options{}, pool.Options{MinWorkers: 1, MaxWorkers: 1,
			OnError: func(err error) {
				select {
				case errs <- err:
				default: // later failures to rebuild on the closed connection
				}
			}})
		nc.Close()
		n, err := p.Broadcast("to nobody")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		err = <-errs
		require.ErrorIs(t, err, nats.ErrConnectionClosed)
		require.True(t, pool.IsFatal(err))
		require.Eventually(t, func() bool { return p.Stats().Restarts >= 1 }, 5*time.Second, time.Millisecond)
	})
	t.Run("a message over the payload limit is refused before it is sent", func(t *testing.T) {
		s := startServer(t)
		nc := connect(t, s)
		err := remote.Broadcast(nc, "svc", make([]byte, nc.MaxPayload()), nil)
		require.ErrorIs(t, err, remote.ErrTooLarge)
		require.Regexp(t, `^remote: payload too large: message of \d+ bytes over the 1048576-byte limit$`, err.Error())
	})
}
