package messaging_test

// Regression tests for three bugs a review found in the switch from the
// ring to a channel (Port.C) and in DropOldest over the ring.

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/messaging"
)

// One receiver, one sender: the receiver must see the messages in the order
// sent even when another goroutine calls C (and never receives) meanwhile.
func TestSwitchKeepsOrderForARunningReceiver(t *testing.T) {
	const n = 4096
	for round := range 150 {
		port := messaging.NewPort(messaging.Options[int]{Capacity: n})
		for i := range n {
			require.NoError(t, port.TrySend(i))
		}
		switched := make(chan struct{})
		go func() { port.C(); close(switched) }()
		for want := range n {
			got, err := port.Recv(t.Context())
			require.NoError(t, err)
			require.Equal(t, want, got, "round %d: message %d received after a later one", round, want)
		}
		<-switched
	}
}

// Nobody receives, so Len must stay n and Received 0 while C switches.
func TestLenDuringSwitch(t *testing.T) {
	const n = 1 << 14
	for round := range 20 {
		port := messaging.NewPort(messaging.Options[int]{Capacity: n})
		for i := range n {
			require.NoError(t, port.TrySend(i))
		}
		switched := make(chan struct{})
		go func() { port.C(); close(switched) }()
		for done := false; !done; {
			select {
			case <-switched:
				done = true
			default:
			}
			require.Equal(t, n, port.Len(), "round %d", round)
			st := port.Stats()
			require.Zero(t, st.Received, "round %d", round)
			require.LessOrEqual(t, st.Len, st.Cap, "round %d", round)
		}
	}
}

// A DropOldest send that loses the race with Close must not take a message
// that was accepted before Close away from the receivers.
func TestDropOldestSendRacingCloseKeepsAcceptedMessage(t *testing.T) {
	for round := range 20000 {
		var dropped atomic.Int32
		port := messaging.NewPort(messaging.Options[int]{Capacity: 1, Policy: messaging.DropOldest,
			OnDrop: func(int) { dropped.Add(1) }})
		require.NoError(t, port.TrySend(1))
		sent := make(chan error, 1)
		go func() { sent <- port.TrySend(2) }()
		require.NoError(t, port.Close())
		err := <-sent
		got, rerr := port.Recv(t.Context())
		if err != nil {
			require.ErrorIs(t, err, messaging.ErrClosed)
			// 2 was refused: 1, accepted before Close, must still be there.
			require.NoError(t, rerr, "round %d: message 1 evicted (OnDrop %d) by a send that failed", round, dropped.Load())
			require.Equal(t, 1, got)
		} else if rerr != nil && !errors.Is(rerr, messaging.ErrClosed) {
			t.Fatal(rerr)
		}
	}
}
