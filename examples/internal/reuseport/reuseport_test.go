package reuseport_test

import (
	"context"
	"net"
	"testing"

	"github.com/crewkit/crew/examples/internal/reuseport"
	"github.com/stretchr/testify/require"
)

func TestListen(t *testing.T) {
	ctx := context.Background()
	t.Run("two listeners share one port", func(t *testing.T) {
		a, err := reuseport.Listen(ctx, "127.0.0.1:0")
		require.NoError(t, err)
		defer a.Close()
		b, err := reuseport.Listen(ctx, a.Addr().String())
		require.NoError(t, err)
		defer b.Close()
		require.Equal(t, a.Addr().String(), b.Addr().String())
	})
	t.Run("a port held without SO_REUSEPORT is reported in use", func(t *testing.T) {
		plain, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer plain.Close()
		_, err = reuseport.Listen(ctx, plain.Addr().String())
		require.ErrorContains(t, err, "address already in use")
	})
}
