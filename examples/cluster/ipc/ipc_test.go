package ipc_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"testing/synctest"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
	"github.com/stretchr/testify/require"
)

// pair connects a Conn and a Child over two in-memory pipes; both are
// closed when the test ends.
func pair(t *testing.T, opts ipc.ChildOptions, onMessage func(ipc.Message)) (*ipc.Conn, *ipc.Child) {
	t.Helper()
	down, downW := io.Pipe() // manager to child
	upR, up := io.Pipe()     // child to manager
	conn := ipc.NewConn(upR, downW, onMessage)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	child, err := ipc.NewChild(down, up, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, child.Close())
		require.NoError(t, conn.Close())
	})
	return conn, child
}

// answer pings c and waits for the child's answer.
func answer(t *testing.T, c *ipc.Conn) ipc.Heartbeat {
	t.Helper()
	_, changed := c.Last()
	seq, err := c.Ping(context.Background())
	require.NoError(t, err)
	<-changed
	hb, _ := c.Last()
	require.Equal(t, seq, hb.Seq)
	return hb
}

func TestHeartbeat(t *testing.T) {
	t.Run("the child says hello and answers with its readiness, pool and memory", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ready := false
			conn, _ := pair(t, ipc.ChildOptions{Report: func(r *ipc.Report) {
				r.Ready = ready
				r.Pool = ipc.PoolOf(pool.Stats{State: "open", Workers: 3, Busy: 2, Queued: 5, Completed: 7, Rejected: 1})
			}}, nil)
			<-conn.HelloDone()
			h, ok := conn.Hello()
			require.True(t, ok)
			require.Equal(t, ipc.Hello{Version: ipc.Version, PID: os.Getpid()}, h)

			hb := answer(t, conn)
			require.False(t, hb.Report.Ready)
			require.Equal(t, &ipc.PoolStats{State: "open", Workers: 3, Busy: 2, Queued: 5, Completed: 7, Rejected: 1}, hb.Report.Pool)
			require.Positive(t, hb.Report.Heap)
			require.Positive(t, hb.Report.Goroutines)
			ready = true // read by the child's goroutine only after the next ping
			require.True(t, answer(t, conn).Report.Ready)
		})
	})
	t.Run("a child whose handler blocks stops answering", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			conn, _ := pair(t, ipc.ChildOptions{OnMessage: func(ipc.Message) { <-release }}, nil)
			answer(t, conn)
			require.NoError(t, conn.Send(context.Background(), ipc.Message{Type: "block"}))
			pinged := make(chan error, 1)
			go func() { // an in-memory pipe has no buffer: the write waits for the reader
				_, err := conn.Ping(context.Background())
				pinged <- err
			}()
			synctest.Wait()
			hb, changed := conn.Last()
			require.Equal(t, uint64(1), hb.Seq, "the second ping is not answered while the handler blocks")
			close(release)
			require.NoError(t, <-pinged)
			<-changed
			hb, _ = conn.Last()
			require.Equal(t, uint64(2), hb.Seq)
		})
	})
}

func TestMessages(t *testing.T) {
	t.Run("messages cross in both directions in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			toManager := make(chan ipc.Message, 4)
			var child *ipc.Child
			conn, child := pair(t, ipc.ChildOptions{OnMessage: func(m ipc.Message) {
				reply, err := ipc.NewMessage("echo", string(m.Data))
				if err == nil {
					err = child.Send(context.Background(), reply)
				}
				require.NoError(t, err)
			}}, func(m ipc.Message) { toManager <- m })
			for _, s := range []string{"one", "two"} {
				m, err := ipc.NewMessage("say", s)
				require.NoError(t, err)
				require.NoError(t, conn.Send(context.Background(), m))
			}
			for _, want := range []string{`"one"`, `"two"`} {
				m := <-toManager
				require.Equal(t, "echo", m.Type)
				var got string
				require.NoError(t, m.Decode(&got))
				require.Equal(t, want, got)
			}
		})
	})
	t.Run("a log level message sets the child's LevelVar", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var level slog.LevelVar
			conn, _ := pair(t, ipc.ChildOptions{Level: &level}, nil)
			require.Equal(t, "INFO", answer(t, conn).Report.LogLevel)
			require.NoError(t, conn.Send(context.Background(), ipc.LogLevel(slog.LevelDebug)))
			require.Equal(t, "DEBUG", answer(t, conn).Report.LogLevel)
			require.Equal(t, slog.LevelDebug, level.Level())

			bad, err := ipc.NewMessage(ipc.TypeLogLevel, "loud")
			require.NoError(t, err)
			require.NoError(t, conn.Send(context.Background(), bad))
			require.Equal(t, "DEBUG", answer(t, conn).Report.LogLevel, "an unknown level is ignored")
		})
	})
	t.Run("sending after the peer closed returns ErrClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			conn, child := pair(t, ipc.ChildOptions{}, nil)
			require.NoError(t, child.Close())
			<-conn.Done()
			require.ErrorIs(t, conn.Send(context.Background(), ipc.Message{Type: "x"}), ipc.ErrClosed)
			require.ErrorIs(t, child.Send(context.Background(), ipc.Message{Type: "x"}), ipc.ErrClosed)
		})
	})
	t.Run("a send whose ctx ended is not written", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			conn, _ := pair(t, ipc.ChildOptions{}, nil)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			require.ErrorIs(t, conn.Send(ctx, ipc.Message{Type: "x"}), context.Canceled)
		})
	})
}

func TestHandshake(t *testing.T) {
	t.Run("a child with another protocol version is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, w := io.Pipe()
			conn := ipc.NewConn(r, io.Discard, nil)
			body, err := wire.JSON.NewEncoder().Encode(ipc.Hello{Version: ipc.Version + 1, PID: 1})
			require.NoError(t, err)
			require.NoError(t, wire.WriteFrame(w, wire.Frame{Kind: 1, Body: body}, 0))
			<-conn.Done()
			_, ok := conn.Hello()
			require.False(t, ok)
			require.ErrorIs(t, conn.Close(), ipc.ErrVersion)
			require.ErrorContains(t, conn.Close(), "version 2 (this manager speaks 1)")
		})
	})
	t.Run("a first frame that is not a hello is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r, w := io.Pipe()
			conn := ipc.NewConn(r, io.Discard, nil)
			require.NoError(t, wire.WriteFrame(w, wire.Frame{Kind: 4, Body: []byte(`{}`)}, 0))
			<-conn.Done()
			require.EqualError(t, conn.Close(), "ipc: the child's first frame is kind 4, not a hello")
		})
	})
	t.Run("without CREW_IPC Open returns a nil Child that does nothing", func(t *testing.T) {
		t.Setenv(ipc.EnvVar, "")
		c, err := ipc.Open(ipc.ChildOptions{})
		require.NoError(t, err)
		require.Nil(t, c)
		require.ErrorIs(t, c.Send(context.Background(), ipc.Message{}), ipc.ErrClosed)
		require.NoError(t, c.Close())
		require.Nil(t, c.Done())
	})
	t.Run("a malformed CREW_IPC is reported", func(t *testing.T) {
		t.Setenv(ipc.EnvVar, "0,1")
		_, err := ipc.Open(ipc.ChildOptions{})
		require.EqualError(t, err, `ipc: CREW_IPC must be two descriptors above 2 like "3,4", got "0,1"`)
	})
}
