package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

// pipeListener is a net.Listener whose connections are in-memory pipes, so
// that a real http.Server, its deadlines and its clients run inside a
// testing/synctest bubble, on the bubble's clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new connection to the listener.
func (l *pipeListener) dial(t *testing.T) net.Conn {
	t.Helper()
	srv, cli := net.Pipe()
	select {
	case l.conns <- srv:
	case <-l.done:
		t.Fatal("dial: listener closed")
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// served is an app serving on a pipeListener; stop shuts it down as SIGTERM
// does and returns Serve's result.
type served struct {
	*app.App
	ln   *pipeListener
	stop func() error
}

// serveOnPipes serves a new app on a pipeListener. Call it inside a synctest
// bubble, and call stop before the bubble ends.
func serveOnPipes(t *testing.T, cfg app.Config) served {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	a, err := app.New(cfg)
	require.NoError(t, err)
	ln := newPipeListener()
	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx, ln, nil) }()
	return served{App: a, ln: ln, stop: func() error { cancel(); return <-errc }}
}

// sendHead writes a request's head on c, announcing a body of n bytes.
func sendHead(t *testing.T, c net.Conn, method, path string, n int) {
	t.Helper()
	_, err := fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: pipe\r\nContent-Length: %d\r\n\r\n", method, path, n)
	require.NoError(t, err)
}

// readReply reads one response from c.
func readReply(t *testing.T, c net.Conn) reply {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, resp.Header, b}
}

// roundTrip sends a whole request on a new connection and reads its reply.
func (s served) roundTrip(t *testing.T, method, path string, body []byte) reply {
	t.Helper()
	c := s.ln.dial(t)
	sendHead(t, c, method, path, len(body))
	if len(body) > 0 {
		_, err := c.Write(body)
		require.NoError(t, err)
	}
	return readReply(t, c)
}
