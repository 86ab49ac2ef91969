package httpx

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/crewkit/crew/pool"
)

// ErrClientGone is the error of a request that was not run because its
// client had closed the connection while the request waited in the queue
// (see [ConnContext]). Nothing is written for it. It matches
// pool.ErrShed, so that the pool counts it in Stats.Canceled (it never
// ran), and context.Canceled, as a request whose client left.
var ErrClientGone error = clientGone{}

type clientGone struct{}

func (clientGone) Error() string {
	return "httpx: the client closed its connection while the request was queued"
}

// Is makes errors.Is(ErrClientGone, pool.ErrShed) and
// errors.Is(ErrClientGone, context.Canceled) true.
func (clientGone) Is(target error) bool { return target == pool.ErrShed || target == context.Canceled }

// connKey is the context key of a connection's syscall.RawConn.
type connKey struct{}

// lookAfter is how long a request must have waited in the queue for
// Offload and Compute to look at its connection before it starts: a
// request that started at once has a client that was there a moment ago,
// and the look costs a system call.
var lookAfter = time.Millisecond

// ConnContext is for http.Server's ConnContext field. It lets Offload and
// Compute find out, just before a request that waited in the queue starts,
// whether its client has closed the connection, and drop the request
// unrun with ErrClientGone.
//
// Without it they rely on the request's context, which net/http cancels
// when it reads the end of the connection. It reads it as soon as the Go
// runtime looks for network events, which it does when a processor has
// nothing to run, or else every 10 ms. A pool busy with CPU work leaves no
// processor idle, so a request whose client left just before it started
// would run for nobody: one per 10 ms of a client's give-up time. With
// ConnContext, a worker that takes such a request asks the kernel whether
// the connection has ended (a recv with MSG_PEEK and MSG_DONTWAIT, which
// reads nothing) and drops it if so. Connections with bytes still unread
// count as open, so the look is conservative for HTTP/2 (where it can only
// see the whole connection end) and for TLS. A client that closes only its
// sending side counts as gone, as net/http counts it once it reads that
// end; so a client that pipelines several HTTP/1.1 requests and then
// half-closes can have a later one dropped, which net/http, having read
// them all already, would have answered. The look is made on Linux and macOS; elsewhere ConnContext
// changes nothing.
//
// Use it as is, or call it from your own ConnContext:
//
//	srv := &http.Server{Handler: r, ConnContext: httpx.ConnContext}
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		c = nc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok || !canLook {
		return ctx
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, connKey{}, rc)
}

// gone reports whether ctx carries a connection (see ConnContext) that its
// client has closed, for a request that waited at least lookAfter.
func gone(ctx context.Context, waited time.Duration) bool {
	if waited < lookAfter {
		return false
	}
	rc, ok := ctx.Value(connKey{}).(syscall.RawConn)
	return ok && ended(rc)
}
