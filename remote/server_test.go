package remote_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/crewkit/crew/remote"
	"github.com/stretchr/testify/require"
)

// startServer starts an embedded server that the test's cleanup stops.
func startServer(t testing.TB) *remote.Server {
	t.Helper()
	s, err := remote.NewServer(remote.ServerOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestServer(t *testing.T) {
	t.Run("a client connects and gets its own request back", func(t *testing.T) {
		s := startServer(t)
		nc, err := s.Connect()
		require.NoError(t, err)
		defer nc.Close()
		sub, err := nc.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
		require.NoError(t, err)
		defer sub.Unsubscribe()
		reply, err := nc.Request("echo", []byte("hi"), 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, "hi", string(reply.Data))
		require.True(t, nc.ConnectedServerId() != "")
	})
	t.Run("close removes the temporary directory and is idempotent", func(t *testing.T) {
		s, err := remote.NewServer(remote.ServerOptions{})
		require.NoError(t, err)
		require.DirExists(t, s.StoreDir())
		require.NoError(t, s.Close())
		require.NoDirExists(t, s.StoreDir())
		require.NoError(t, s.Close())
	})
	t.Run("a negative port fails at construction", func(t *testing.T) {
		_, err := remote.NewServer(remote.ServerOptions{Port: -1})
		require.EqualError(t, err, "remote: ServerOptions.Port must be >= 0, got -1")
	})
}
