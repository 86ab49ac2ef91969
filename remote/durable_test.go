package remote_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// durableMember serves fn durably as "svc" on its own connection; the
// cleanup stops it, closes its pool and its connection.
func durableMember(t testing.TB, s *remote.Server, fn func(context.Context, job) (string, error), o remote.DurableOptions) *member {
	t.Helper()
	nc, err := s.Connect()
	require.NoError(t, err)
	p, err := pool.NewFunc(fn, pool.Options{MaxWorkers: 2})
	require.NoError(t, err)
	m, err := remote.ServeDurable(context.Background(), nc, "svc", p, o)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if !nc.IsClosed() {
			require.NoError(t, m.Stop(ctx))
		} else {
			_ = m.Stop(ctx)
		}
		require.NoError(t, p.Close(ctx))
		nc.Close()
	})
	return &member{nc: nc, pool: p}
}

func durableCallers(t testing.TB, nc *nats.Conn, o remote.DurableOptions) *pool.Pool[job, string] {
	t.Helper()
	p, err := pool.New(remote.DurableFactory[job, string](nc, "svc", o), pool.Options{MaxWorkers: 4})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	return p
}

// streamMsgs returns how many messages a stream holds.
func streamMsgs(t *testing.T, nc *nats.Conn, name string) uint64 {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	st, err := js.Stream(context.Background(), name)
	require.NoError(t, err)
	info, err := st.Info(context.Background())
	require.NoError(t, err)
	return info.State.Msgs
}

// quick makes a dead member's tasks come back within half a second.
var quick = remote.DurableOptions{AckWait: 500 * time.Millisecond, MaxDeliver: 2}

func TestDurable(t *testing.T) {
	t.Run("a task runs on a member and its answer comes back", func(t *testing.T) {
		s := startServer(t)
		durableMember(t, s, newHandler().run, remote.DurableOptions{})
		nc := connect(t, s)
		p := durableCallers(t, nc, remote.DurableOptions{})
		out, err := p.Run(context.Background(), job{Text: "d"})
		require.NoError(t, err)
		require.Equal(t, "echo d", out)
		_, err = p.Run(context.Background(), job{Op: "fail", Text: "bad"})
		require.EqualError(t, err, "bad")
		var pe *pool.PanicError
		_, err = p.Run(context.Background(), job{Op: "panic"})
		require.ErrorAs(t, err, &pe)
		// The member answers, then acknowledges: the ack may trail the answer.
		require.Eventually(t, func() bool { return streamMsgs(t, nc, "CREW_TASKS_svc") == 0 },
			5*time.Second, time.Millisecond, "acknowledged tasks leave the work queue")
	})
	t.Run("a call made before any member created the stream reaches one that starts within the wait", func(t *testing.T) {
		s := startServer(t)
		ev := newEvents()
		p := durableCallers(t, connect(t, s), remote.DurableOptions{OnEvent: ev.add})
		joined := make(chan struct{})
		go func() {
			defer close(joined)
			<-ev.hook // the first publish that found no stream
			durableMember(t, s, newHandler().run, remote.DurableOptions{})
		}()
		out, err := p.Run(context.Background(), job{Text: "late"})
		<-joined // ServeDurable may still be returning when the answer comes
		require.NoError(t, err)
		require.Equal(t, "echo late", out)
		require.Positive(t, ev.count(remote.NoResponders))
	})
	t.Run("without a member within NoMembersWait the call fails with ErrNoMembers", func(t *testing.T) {
		s := startServer(t)
		ev := newEvents()
		p := durableCallers(t, connect(t, s), remote.DurableOptions{NoMembersWait: 50 * time.Millisecond, OnEvent: ev.add})
		_, err := p.Run(context.Background(), job{})
		require.ErrorIs(t, err, remote.ErrNoMembers)
		require.EqualError(t, err, `remote: no member answers on "svc": no member created its stream within 50ms`)
		require.Greater(t, ev.count(remote.NoResponders), 1)
	})
	t.Run("a negative NoMembersWait fails the call at once", func(t *testing.T) {
		s := startServer(t)
		p := durableCallers(t, connect(t, s), remote.DurableOptions{NoMembersWait: -1})
		_, err := p.Run(context.Background(), job{})
		require.EqualError(t, err, `remote: no member answers on "svc": no member has created its stream`)
	})
	t.Run("a task whose member dies is delivered to another member", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		defer close(h.release)
		dying := durableMember(t, s, h.run, quick)
		ev := newEvents()
		o := quick
		o.OnEvent = ev.add
		p := durableCallers(t, connect(t, s), o)
		done := make(chan error, 1)
		go func() {
			out, err := p.Run(context.Background(), job{Op: "block", Text: "t"})
			if err == nil && out != "echo t" {
				err = &userError{"wrong answer " + out}
			}
			done <- err
		}()
		<-h.started
		var runs atomic.Int32
		durableMember(t, s, func(_ context.Context, j job) (string, error) {
			runs.Add(1)
			return "echo " + j.Text, nil
		}, quick)
		dying.nc.Close()
		require.NoError(t, <-done)
		require.Equal(t, int32(1), runs.Load())
		// The caller heard of the second delivery before its answer.
		require.Equal(t, []remote.Event{{Kind: remote.Redelivered, Service: "svc", Attempt: 2}}, ev.seen)
	})
	t.Run("a task delivered MaxDeliver times without an ack is dead-lettered", func(t *testing.T) {
		s := startServer(t)
		nc := connect(t, s)
		h := newHandler()
		defer close(h.release)
		p := durableCallers(t, nc, quick)
		first := durableMember(t, s, h.run, quick)
		done := make(chan error, 1)
		go func() {
			_, err := p.Run(remote.WithTaskID(context.Background(), "poison"), job{Op: "block", Text: "t"})
			done <- err
		}()
		<-h.started // delivery 1
		second := durableMember(t, s, h.run, quick)
		first.nc.Close()
		<-h.started // delivery 2, the last one allowed
		var runs atomic.Int32
		durableMember(t, s, func(context.Context, job) (string, error) { runs.Add(1); return "", nil }, quick)
		second.nc.Close()
		err := <-done
		require.ErrorIs(t, err, remote.ErrDeadLetter)
		require.EqualError(t, err, "remote: task moved to the dead-letter subject: task poison: delivered 2 times without an ack")
		require.Zero(t, runs.Load())
		require.Equal(t, uint64(1), streamMsgs(t, nc, "CREW_DEAD_svc"))
		require.Eventually(t, func() bool { return streamMsgs(t, nc, "CREW_TASKS_svc") == 0 },
			5*time.Second, time.Millisecond, "a dead-lettered task leaves the work queue")
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		st, err := js.Stream(context.Background(), "CREW_DEAD_svc")
		require.NoError(t, err)
		dead, err := st.GetLastMsgForSubject(context.Background(), remote.DeadSubject("svc"))
		require.NoError(t, err)
		require.Equal(t, "poison", dead.Header.Get("Crew-Task-Id"))
		require.Equal(t, "2", dead.Header.Get("Crew-Deliveries"))
	})
	t.Run("a task ID seen within the dedupe window does not run again", func(t *testing.T) {
		s := startServer(t)
		var runs atomic.Int32
		durableMember(t, s, func(_ context.Context, j job) (string, error) { runs.Add(1); return "once", nil }, remote.DurableOptions{})
		p := durableCallers(t, connect(t, s), remote.DurableOptions{})
		ctx := remote.WithTaskID(context.Background(), "task-1")
		out, err := p.Run(ctx, job{})
		require.NoError(t, err)
		require.Equal(t, "once", out)
		_, err = p.Run(ctx, job{})
		require.ErrorIs(t, err, remote.ErrDuplicateTask)
		require.Equal(t, int32(1), runs.Load())
	})
	t.Run("invalid options fail at construction", func(t *testing.T) {
		s := startServer(t)
		nc := connect(t, s)
		require.PanicsWithValue(t, `remote: durable service name must match ^[A-Za-z0-9_-]+$, got "a.b"`, func() {
			remote.DurableFactory[job, string](nc, "a.b", remote.DurableOptions{})
		})
		p, err := pool.NewFunc(echo, pool.Options{})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()
		_, err = remote.ServeDurable(context.Background(), nc, "svc", p, remote.DurableOptions{MaxDeliver: -1})
		require.EqualError(t, err, "remote: DurableOptions.MaxDeliver must be >= 0, got -1")
	})
}
