package manager

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/stretchr/testify/require"
)

// memPipe is a buffered in-memory pipe, as an OS pipe is buffered, whose
// goroutines synctest sees as durably blocked.
type memPipe struct {
	ch     chan []byte
	rest   []byte
	closed chan struct{}
	once   sync.Once
}

func newMemPipe() *memPipe { return &memPipe{ch: make(chan []byte, 64), closed: make(chan struct{})} }

func (p *memPipe) Read(b []byte) (int, error) {
	if len(p.rest) == 0 {
		select {
		case p.rest = <-p.ch:
		case <-p.closed:
			return 0, io.EOF
		}
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n, nil
}

func (p *memPipe) Write(b []byte) (int, error) {
	select {
	case p.ch <- append([]byte(nil), b...):
		return len(b), nil
	case <-p.closed:
		return 0, io.ErrClosedPipe
	}
}

func (p *memPipe) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// testChild is a child's end of a channel whose heartbeats a test can stop
// (wedge) and whose readiness it sets.
type testChild struct {
	conn   *ipc.Conn
	ready  atomic.Bool
	wedged chan struct{} // closed to unblock a wedged child
}

// connect starts a Conn and a Child over memory pipes inside a bubble; the
// test's cleanup closes both.
func connect(t *testing.T) *testChild {
	down, up := newMemPipe(), newMemPipe()
	tc := &testChild{wedged: make(chan struct{})}
	tc.ready.Store(true)
	tc.conn = ipc.NewConn(up, down, nil)
	child, err := ipc.NewChild(down, up, ipc.ChildOptions{
		Logger:    slog.New(slog.DiscardHandler),
		Report:    func(r *ipc.Report) { r.Ready = tc.ready.Load() },
		OnMessage: func(ipc.Message) { <-tc.wedged },
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		close(tc.wedged)
		require.NoError(t, child.Close())
		require.NoError(t, tc.conn.Close())
	})
	<-tc.conn.HelloDone()
	return tc
}

// beats runs h every interval for n intervals, and returns the number of
// the beat that found the child unhealthy (from 1) and its error, or 0.
func beats(h *health, c *ipc.Conn, n int) (int, error) {
	for i := 1; i <= n; i++ {
		time.Sleep(h.opts.Interval) // fake time: the bubble's clock
		synctest.Wait()             // the child has answered, if it can
		if err := h.beat(c, time.Now()); err != nil {
			return i, err
		}
	}
	return 0, nil
}

func TestHealth(t *testing.T) {
	opts := Health{Interval: time.Second, Missed: 3, NotReadyGrace: 5 * time.Second}
	t.Run("a child that answers stays healthy", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tc := connect(t)
			h := &health{opts: opts}
			n, err := beats(h, tc.conn, 50)
			require.NoError(t, err)
			require.Zero(t, n)
			synctest.Wait() // the child answers the last one too
			hb, _ := tc.conn.Last()
			require.Equal(t, uint64(50), hb.Seq, "every heartbeat is answered")
		})
	})
	t.Run("a wedged child is unhealthy once it missed Missed heartbeats", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tc := connect(t)
			h := &health{opts: opts}
			_, err := beats(h, tc.conn, 4)
			require.NoError(t, err)
			require.NoError(t, tc.conn.Send(t.Context(), ipc.Message{Type: "wedge"}))
			start := time.Now()
			n, err := beats(h, tc.conn, 10)
			// The ping sent at beat 1 is the first left unanswered; beats
			// 2, 3 and 4 each find one more missed.
			require.Equal(t, 4, n)
			require.Equal(t, 4*time.Second, time.Since(start))
			require.EqualError(t, err, "missed 3 heartbeats in a row, 1s apart")
		})
	})
	t.Run("a child that reports not ready is unhealthy after the grace", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tc := connect(t)
			h := &health{opts: opts}
			_, err := beats(h, tc.conn, 3)
			require.NoError(t, err)
			synctest.Wait() // the last ping is answered as ready
			tc.ready.Store(false)
			n, err := beats(h, tc.conn, 20)
			// Beat 1's answer is the first not ready, and arrives with it;
			// beat 6 comes 5s later.
			require.Equal(t, 6, n)
			require.EqualError(t, err, "reported not ready for longer than 5s")
		})
	})
	t.Run("readiness regained within the grace resets it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			tc := connect(t)
			h := &health{opts: opts}
			// Each phase waits until the child has answered the phase's
			// last ping before the readiness flips, so every answer carries
			// its phase's readiness. Four not-ready beats are the most the
			// grace allows: the first not-ready answer comes at beat 1 and
			// the ready phase's first beat, 4s later, still sees the answer
			// to beat 4; a fifth would make that 5s.
			for range 3 {
				tc.ready.Store(false)
				_, err := beats(h, tc.conn, 4)
				require.NoError(t, err)
				synctest.Wait()
				tc.ready.Store(true)
				_, err = beats(h, tc.conn, 2)
				require.NoError(t, err)
				synctest.Wait()
			}
		})
	})
	t.Run("a child that never said hello is not checked", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			down, up := newMemPipe(), newMemPipe()
			conn := ipc.NewConn(up, down, nil)
			h := &health{opts: opts}
			n, err := beats(h, conn, 20)
			require.NoError(t, err)
			require.Zero(t, n)
			require.Empty(t, down.ch, "no heartbeat was sent")
			require.NoError(t, conn.Close())
		})
	})
}
