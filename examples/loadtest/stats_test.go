package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func statsServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr).String()
	return &server{addr: addr, admin: addr}
}

func TestCompleted(t *testing.T) {
	t.Run("the pool's completed tasks are read once it is idle", func(t *testing.T) {
		var calls atomic.Int64
		srv := statsServer(t, func(w http.ResponseWriter, _ *http.Request) {
			if calls.Add(1) < 3 {
				_, _ = w.Write([]byte(`{"completed": 7, "busy": 2, "queued": 5}`))
				return
			}
			_, _ = w.Write([]byte(`{"completed": 12, "busy": 0, "queued": 0}`))
		})
		n, err := completed(t.Context(), http.DefaultClient, srv)
		require.NoError(t, err)
		require.EqualValues(t, 12, n)
		require.EqualValues(t, 3, calls.Load())
	})
	t.Run("a server without a pool says nothing", func(t *testing.T) {
		srv := statsServer(t, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"mode": "plain", "workers": 2, "queue_cap": 32}`))
		})
		n, err := completed(t.Context(), http.DefaultClient, srv)
		require.NoError(t, err)
		require.EqualValues(t, -1, n)
	})
	t.Run("an error status is an error", func(t *testing.T) {
		srv := statsServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
		_, err := completed(t.Context(), http.DefaultClient, srv)
		require.ErrorContains(t, err, "404")
	})
}
