package remote_test

import (
	"testing"

	"github.com/crewkit/crew/remote"
	"github.com/stretchr/testify/require"
)

func TestEventKindString(t *testing.T) {
	t.Run("each kind has a name and unknown kinds say their number", func(t *testing.T) {
		require.Equal(t, "busy", remote.Busy.String())
		require.Equal(t, "no responders", remote.NoResponders.String())
		require.Equal(t, "lost", remote.Lost.String())
		require.Equal(t, "resent", remote.Resent.String())
		require.Equal(t, "EventKind(9)", remote.EventKind(9).String())
	})
}
