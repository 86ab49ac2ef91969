package messaging_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/messaging"
)

// portModel is the specification of a Port as a slice.
type portModel struct {
	policy  messaging.Policy
	cap     int
	queue   []int
	closed  bool
	sent    uint64
	dropped []int
}

// send returns what Send (wait true) or TrySend should return for msg.
func (m *portModel) send(msg int, wait bool) error {
	switch {
	case m.closed:
		return messaging.ErrClosed
	case len(m.queue) < m.cap:
	case m.policy == messaging.DropNewest:
		m.dropped = append(m.dropped, msg)
		return nil
	case m.policy == messaging.DropOldest:
		m.dropped = append(m.dropped, m.queue[0])
		m.queue = m.queue[1:]
	case m.policy == messaging.Block && wait:
		return context.Canceled
	default:
		return messaging.ErrFull
	}
	m.queue = append(m.queue, msg)
	m.sent++
	return nil
}

// recv returns what Recv with a canceled ctx should return.
func (m *portModel) recv() (int, error) {
	switch {
	case len(m.queue) > 0:
		msg := m.queue[0]
		m.queue = m.queue[1:]
		return msg, nil
	case m.closed:
		return 0, messaging.ErrClosed
	}
	return 0, context.Canceled
}

func FuzzPort(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{0, 0, 2, 3, 4, 2, 3})
	f.Add(uint8(2), uint8(1), []byte{0, 0, 0, 1, 2, 2, 2, 4, 0, 2})
	f.Add(uint8(1), uint8(2), []byte{0, 1, 0, 1, 3, 2, 0, 4, 3, 3})
	f.Add(uint8(3), uint8(3), []byte{1, 1, 1, 1, 0, 0, 3, 2, 2, 2, 4, 1})
	f.Add(uint8(1), uint8(4), []byte{0, 0, 0, 2, 0, 0, 4, 2, 2, 2})
	f.Add(uint8(3), uint8(0), []byte{0, 0, 5, 0, 6, 2, 1, 3, 6, 6})
	f.Add(uint8(2), uint8(3), []byte{0, 1, 0, 4, 5, 6, 6, 6, 0})
	f.Fuzz(func(t *testing.T, capacity, policy uint8, ops []byte) {
		m := &portModel{policy: messaging.Policy(policy % 4), cap: int(capacity % 8)}
		var dropped []int
		port := messaging.NewPort(messaging.Options[int]{
			Capacity: m.cap,
			Policy:   m.policy,
			OnDrop:   func(msg int) { dropped = append(dropped, msg) },
		})
		if m.cap == 0 {
			m.cap = messaging.DefaultCapacity
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // every wait ends at once, so outcomes are deterministic
		for i, op := range ops {
			switch op % 7 {
			case 0:
				requireSame(t, m.send(i, true), port.Send(ctx, i))
			case 1:
				requireSame(t, m.send(i, false), port.TrySend(i))
			case 2:
				want, wantErr := m.recv()
				got, err := port.Recv(ctx)
				requireSame(t, wantErr, err)
				require.Equal(t, want, got)
			case 3:
				want, wantErr := m.recv()
				got, ok := port.TryRecv()
				require.Equal(t, wantErr == nil, ok)
				require.Equal(t, want, got)
			case 4:
				m.closed = true
				require.NoError(t, port.Close())
			case 5: // the port moves from its ring to a channel
				require.NotNil(t, port.C())
			case 6:
				want, wantErr := m.recv()
				var got int
				var ok, closed bool
				select {
				case got, ok = <-port.C():
					closed = !ok
				default:
				}
				require.Equal(t, wantErr == nil, ok)
				require.Equal(t, errors.Is(wantErr, messaging.ErrClosed), closed)
				require.Equal(t, want, got)
			}
			stats := port.Stats()
			require.Equal(t, len(m.queue), port.Len())
			require.Equal(t, m.sent, stats.Sent)
			require.Equal(t, uint64(len(m.dropped)), stats.Dropped)
			require.Equal(t, m.closed, stats.Closed)
		}
		require.Equal(t, m.dropped, dropped)
		require.NoError(t, port.Close())
	})
}

func requireSame(t *testing.T, want, got error) {
	t.Helper()
	if want == nil {
		require.NoError(t, got)
		return
	}
	require.True(t, errors.Is(got, want), "want %v, got %v", want, got)
}
