package httpx_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// tcpPair returns both ends of a loopback TCP connection, closed when the
// test ends.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// leftConn returns the server end of a connection whose client has closed
// it, once the end has reached the server: a Read returns io.EOF, which
// consumes nothing.
func leftConn(t *testing.T) net.Conn {
	t.Helper()
	server, client := tcpPair(t)
	require.NoError(t, client.Close())
	_, err := server.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)
	return server
}

func TestClientGone(t *testing.T) {
	// queueBehind runs a request for /first, which holds the only worker
	// of p for 10ms, then one for /second whose context carries conn, which
	// waits for it. It returns the paths that ran, how many writes
	// /second made, and its recorder.
	queueBehind := func(p *pool.Tasks, conn net.Conn) ([]string, int64, *httptest.ResponseRecorder) {
		s := &sleeper{d: 10 * time.Millisecond}
		h := httpx.Offload(p, httpx.Options{})(s)
		var wg sync.WaitGroup
		wg.Go(func() { call(bg, h, "/first") })
		synctest.Wait()
		second := watch(h)
		rec := httptest.NewRecorder()
		ctx, cancel := context.WithCancel(httpx.ConnContext(bg, conn)) // as net/http's are
		defer cancel()
		second.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/second", nil))
		wg.Wait()
		return s.ran(), second.writes.Load(), rec
	}

	t.Run("a queued request whose client closed its connection never runs and writes nothing", func(t *testing.T) {
		conn := leftConn(t)
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 4})
			ran, writes, _ := queueBehind(p, conn)
			require.Equal(t, []string{"/first"}, ran)
			require.Zero(t, writes)
			st := p.Stats()
			require.Equal(t, uint64(1), st.Completed, "only /first ran")
			require.Equal(t, uint64(1), st.Canceled, "the request left unrun counts as canceled")
			require.Zero(t, st.Failed)
		})
	})

	t.Run("a queued request whose client is still connected runs", func(t *testing.T) {
		server, _ := tcpPair(t)
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 4})
			ran, writes, rec := queueBehind(p, server)
			require.Equal(t, []string{"/first", "/second"}, ran)
			require.NotZero(t, writes)
			require.Equal(t, http.StatusOK, rec.Code)
			require.Equal(t, uint64(2), p.Stats().Completed)
		})
	})

	t.Run("Compute drops a queued function whose client closed its connection", func(t *testing.T) {
		conn := leftConn(t)
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 4})
			hold := make(chan struct{})
			busy, err := p.TrySubmit(bg, func(context.Context) error { <-hold; return nil })
			require.NoError(t, err)
			ran := false
			var out int
			var wg sync.WaitGroup
			ctx, cancel := context.WithCancel(httpx.ConnContext(bg, conn))
			defer cancel()
			wg.Go(func() {
				out, err = httpx.Compute(ctx, p, func(context.Context) (int, error) { ran = true; return 1, nil })
			})
			synctest.Wait()
			time.Sleep(2 * time.Millisecond)
			close(hold)
			wg.Wait()
			_, _ = busy.Wait(bg)
			require.ErrorIs(t, err, httpx.ErrClientGone)
			require.False(t, ran)
			require.Zero(t, out)
			require.Equal(t, uint64(1), p.Stats().Canceled)
		})
	})

	t.Run("WriteError writes nothing for a client that is gone", func(t *testing.T) {
		rec := httptest.NewRecorder()
		o, err := httpx.New(newTasks(t, pool.Options{}), httpx.Options{OnError: func(*http.Request, error) { t.Error("OnError called") }})
		require.NoError(t, err)
		o.WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), httpx.ErrClientGone)
		require.Zero(t, rec.Body.Len())
		require.Empty(t, rec.Header())
	})

	t.Run("ErrClientGone counts as shed and as the client's cancellation", func(t *testing.T) {
		require.ErrorIs(t, httpx.ErrClientGone, pool.ErrShed)
		require.ErrorIs(t, httpx.ErrClientGone, context.Canceled)
		require.False(t, errors.Is(httpx.ErrClientGone, httpx.ErrOverloaded))
	})
}
