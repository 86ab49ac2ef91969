package httpx

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pair returns both ends of a loopback TCP connection, closed when the
// test ends.
func pair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(); _ = c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func TestGone(t *testing.T) {
	const waited = time.Second
	t.Run("an open connection is not gone, with or without bytes unread", func(t *testing.T) {
		server, client := pair(t)
		ctx := ConnContext(context.Background(), server)
		require.False(t, gone(ctx, waited))
		_, err := client.Write([]byte("GET / HTTP/1.1\r\n"))
		require.NoError(t, err)
		require.False(t, gone(ctx, waited))
	})
	t.Run("a connection its client closed is gone", func(t *testing.T) {
		server, client := pair(t)
		ctx := ConnContext(context.Background(), server)
		require.NoError(t, client.Close())
		_, err := server.Read(make([]byte, 1)) // returns once the end arrived; consumes nothing
		require.ErrorIs(t, err, io.EOF)
		require.True(t, gone(ctx, waited))
		require.True(t, gone(ctx, waited), "looking reads nothing")
	})
	t.Run("a connection its client reset is gone", func(t *testing.T) {
		server, client := pair(t)
		ctx := ConnContext(context.Background(), server)
		require.NoError(t, client.SetLinger(0))
		require.NoError(t, client.Close())
		_, err := server.Read(make([]byte, 1))
		require.ErrorIs(t, err, syscall.ECONNRESET)
		require.True(t, gone(ctx, waited))
	})
	t.Run("a request that did not wait is not looked at", func(t *testing.T) {
		server, client := pair(t)
		ctx := ConnContext(context.Background(), server)
		require.NoError(t, client.Close())
		_, _ = server.Read(make([]byte, 1))
		require.False(t, gone(ctx, lookAfter-1))
		require.True(t, gone(ctx, lookAfter))
	})
	t.Run("a TLS connection is looked at through its TCP connection", func(t *testing.T) {
		server, client := pair(t)
		ctx := ConnContext(context.Background(), tls.Server(server, &tls.Config{}))
		require.False(t, gone(ctx, waited))
		require.NoError(t, client.Close())
		_, _ = server.Read(make([]byte, 1))
		require.True(t, gone(ctx, waited))
	})
	t.Run("without a connection, or with one that has no descriptor, nothing is gone", func(t *testing.T) {
		require.False(t, gone(context.Background(), waited))
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		ctx := context.Background()
		require.Equal(t, ctx, ConnContext(ctx, a))
	})
	t.Run("net/http hands ConnContext's value to the handler", func(t *testing.T) {
		seen := make(chan bool, 1)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			_, ok := r.Context().Value(connKey{}).(syscall.RawConn)
			seen <- ok
		}))
		srv.Config.ConnContext = ConnContext
		srv.Start()
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.True(t, <-seen)
	})
}
