package messaging_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/messaging"
)

func TestChannel(t *testing.T) {
	t.Run("each endpoint receives what the other sent, in order", func(t *testing.T) {
		a, b := messaging.NewChannel[string, int](messaging.ChannelOptions{Capacity: 4})
		require.NoError(t, a.Send(t.Context(), "one"))
		require.NoError(t, a.TrySend("two"))
		require.NoError(t, b.Send(t.Context(), 1))
		require.Equal(t, 2, b.Len())

		got, err := b.Recv(t.Context())
		require.NoError(t, err)
		require.Equal(t, "one", got)
		got, ok := b.TryRecv()
		require.True(t, ok)
		require.Equal(t, "two", got)
		require.Equal(t, 1, <-a.C())
		require.NoError(t, a.Close())
	})

	for _, closer := range []string{"a", "b"} {
		t.Run("closing endpoint "+closer+" closes both directions and each side drains", func(t *testing.T) {
			a, b := messaging.NewChannel[int, int](messaging.ChannelOptions{})
			require.NoError(t, a.Send(t.Context(), 1))
			require.NoError(t, b.Send(t.Context(), 2))
			if closer == "a" {
				require.NoError(t, a.Close())
			} else {
				require.NoError(t, b.Close())
			}
			require.ErrorIs(t, a.Send(t.Context(), 3), messaging.ErrClosed)
			require.ErrorIs(t, b.TrySend(4), messaging.ErrClosed)

			got, err := a.Recv(t.Context())
			require.NoError(t, err)
			require.Equal(t, 2, got)
			got, err = b.Recv(t.Context())
			require.NoError(t, err)
			require.Equal(t, 1, got)

			_, err = a.Recv(t.Context())
			require.ErrorIs(t, err, messaging.ErrClosed)
			_, err = b.Recv(t.Context())
			require.ErrorIs(t, err, messaging.ErrClosed)
			require.NoError(t, a.Close(), "closing again is harmless")
			require.NoError(t, b.Close())
		})
	}

	t.Run("Stats reports both directions under the channel's name", func(t *testing.T) {
		a, b := messaging.NewChannel[int, int](messaging.ChannelOptions{Capacity: 1, Policy: messaging.DropNewest, Name: "ch"})
		require.NoError(t, a.TrySend(1))
		require.NoError(t, a.TrySend(2))
		stats := b.Stats()
		require.Equal(t, "ch/a->b", stats.In.Name)
		require.Equal(t, "ch/b->a", stats.Out.Name)
		require.Equal(t, uint64(1), stats.In.Sent)
		require.Equal(t, uint64(1), stats.In.Dropped)
		require.Equal(t, a.Stats().Out, stats.In)
		require.NoError(t, b.Close())
	})
}
