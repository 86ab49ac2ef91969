package manager_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/stretchr/testify/require"
)

// received is a message a child sent to the manager.
type received struct {
	instance, pid int
	msg           ipc.Message
}

// inbox makes opts deliver the children's messages to the returned channel.
func inbox(opts *manager.Options) <-chan received {
	ch := make(chan received, 16)
	opts.OnMessage = func(id, pid int, m ipc.Message) { ch <- received{id, pid, m} }
	return ch
}

// startChecked starts a manager as start does and, once it is stopped,
// checks that no child it ever started is still a process.
func startChecked(t *testing.T, opts manager.Options, rec *recorder) *manager.Manager {
	t.Helper()
	t.Cleanup(func() { // runs after start's cleanup has stopped m
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, e := range rec.events {
			if e.Kind == manager.EventReady {
				require.ErrorIs(t, syscall.Kill(e.PID, 0), syscall.ESRCH, "child %d outlived the manager", e.PID)
			}
		}
	})
	return start(t, opts)
}

// awaitBeat waits until instance id's child answers a heartbeat that ok
// accepts, or fails the test when ctx ends.
func awaitBeat(t *testing.T, ctx context.Context, m *manager.Manager, id int, ok func(ipc.Heartbeat) bool) ipc.Heartbeat {
	t.Helper()
	for {
		hb, next, running := m.LastHeartbeat(id)
		require.True(t, running, "instance %d is not running", id)
		if hb.Seq > 0 && ok(hb) {
			return hb
		}
		select {
		case <-next:
		case <-ctx.Done():
			require.FailNow(t, "the awaited heartbeat did not come", "instance %d, last: %+v", id, hb)
		}
	}
}

func anyBeat(ipc.Heartbeat) bool { return true }

// next returns the next message in in, or fails the test when ctx ends.
func next(t *testing.T, ctx context.Context, in <-chan received) received {
	t.Helper()
	select {
	case r := <-in:
		return r
	case <-ctx.Done():
		require.FailNow(t, "no message from a child")
		return received{}
	}
}

func TestChannel(t *testing.T) {
	t.Run("the manager sends to one child or all, and they answer", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec := &recorder{}
		opts := options(t, 2, "serve", rec)
		in := inbox(&opts)
		m := startChecked(t, opts, rec)
		awaitBeat(t, ctx, m, 0, anyBeat)
		awaitBeat(t, ctx, m, 1, anyBeat)

		one, err := ipc.NewMessage("echo", "to one")
		require.NoError(t, err)
		require.NoError(t, m.Send(ctx, 1, one))
		r := next(t, ctx, in)
		require.Equal(t, 1, r.instance)
		require.Equal(t, m.Status()[1].PID, r.pid)
		require.Equal(t, one, r.msg)

		all, err := ipc.NewMessage("echo", "to all")
		require.NoError(t, err)
		n, err := m.Broadcast(ctx, all)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		from := map[int]bool{}
		for range 2 {
			r := next(t, ctx, in)
			require.Equal(t, all, r.msg)
			from[r.instance] = true
		}
		require.Equal(t, map[int]bool{0: true, 1: true}, from)

		require.ErrorContains(t, m.Send(ctx, 2, one), "manager: no instance 2; there are 2")
	})
	t.Run("the status shows every child's readiness, pool and memory", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec := &recorder{}
		m := startChecked(t, options(t, 2, "serve", rec), rec)
		awaitBeat(t, ctx, m, 0, anyBeat)
		awaitBeat(t, ctx, m, 1, anyBeat)
		for _, s := range m.Status() {
			require.NotNil(t, s.Report, "instance %d", s.Instance)
			require.True(t, s.Report.Ready)
			require.Equal(t, &ipc.PoolStats{State: "open", Workers: 2, Max: 2, QueueCap: s.Report.Pool.QueueCap}, s.Report.Pool)
			require.Positive(t, s.Report.Heap)
			require.Positive(t, s.Report.RSS)
			require.Equal(t, "INFO", s.Report.LogLevel)
		}
		var b strings.Builder
		require.NoError(t, manager.WriteStatus(&b, m.Status()))
		require.Regexp(t, `\n\s*0\s+running\s+\d+\s+\S+\s+0\s+yes\s+2\s+0\s+0\s+0\s+0\s+`, b.String())
		require.Regexp(t, `\n\s*total\s+4\s+0\s+0\s+0\s+0\s+`, b.String())
	})
	t.Run("the status handler sends a log level to every child", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec := &recorder{}
		opts := options(t, 2, "serve", rec)
		in := inbox(&opts)
		m := startChecked(t, opts, rec)
		awaitBeat(t, ctx, m, 0, anyBeat)
		awaitBeat(t, ctx, m, 1, anyBeat)
		srv := httptest.NewServer(m.StatusHandler())
		defer srv.Close()

		code, body := post(t, ctx, srv.URL+"/log-level?level=debug")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "log level DEBUG sent to 2 children\n", body)
		for range 2 {
			r := next(t, ctx, in)
			require.Equal(t, "level", r.msg.Type)
			require.JSONEq(t, `"DEBUG"`, string(r.msg.Data))
		}
		for id := range 2 {
			awaitBeat(t, ctx, m, id, func(hb ipc.Heartbeat) bool { return hb.Report.LogLevel == "DEBUG" })
		}

		code, body = post(t, ctx, srv.URL+"/log-level?level=loud")
		require.Equal(t, http.StatusBadRequest, code)
		require.Contains(t, body, "level must be debug, info, warn or error")
	})
	t.Run("after a reload messages reach the new child", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rec := &recorder{}
		opts := options(t, 1, "serve", rec)
		in := inbox(&opts)
		m := startChecked(t, opts, rec)
		old := m.Status()[0].PID
		require.NoError(t, m.Reload(ctx))
		current := m.Status()[0].PID
		require.NotEqual(t, old, current)
		awaitBeat(t, ctx, m, 0, anyBeat)
		require.NoError(t, m.Send(ctx, 0, ipc.Message{Type: "echo"}))
		require.Equal(t, current, next(t, ctx, in).pid)
	})
	t.Run("a child that does not join the channel is served without it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec := &recorder{}
		m := startChecked(t, options(t, 1, "mute", rec), rec)
		err := m.Send(ctx, 0, ipc.Message{Type: "echo"})
		require.ErrorIs(t, err, manager.ErrNoChannel)
		n, err := m.Broadcast(ctx, ipc.Message{Type: "echo"})
		require.NoError(t, err)
		require.Zero(t, n)
		require.Nil(t, m.Status()[0].Report)
		_, err = getPID(ctx, client(1), m.Addr())
		require.NoError(t, err)
	})
}

// post sends an empty POST to url and returns the status and body.
func post(t *testing.T, ctx context.Context, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestUnhealthy(t *testing.T) {
	t.Run("a wedged child is stopped and replaced, counting as a restart", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rec := &recorder{}
		opts := options(t, 2, "serve", rec)
		opts.Health = manager.Health{Interval: 100 * time.Millisecond, Missed: 10, KillGrace: 10 * time.Second}
		m := startChecked(t, opts, rec)
		awaitBeat(t, ctx, m, 0, anyBeat)
		old := m.Status()[0].PID

		require.NoError(t, m.Send(ctx, 0, ipc.Message{Type: "wedge"}))
		rec.await(t, ctx, func(ev []manager.Event) bool { return has(ev, manager.EventReady, 0, old) })

		unhealthy, exited := eventOf(rec, manager.EventUnhealthy, old), eventOf(rec, manager.EventExited, old)
		require.EqualError(t, unhealthy.Err, "missed 10 heartbeats in a row, 100ms apart")
		require.ErrorIs(t, exited.Err, manager.ErrUnhealthy)
		require.ErrorContains(t, exited.Err, "manager: unhealthy: missed 10 heartbeats in a row, 100ms apart; stopped: exit status 0")
		st := m.Status()[0]
		require.Equal(t, 1, st.Restarts)
		require.Equal(t, "manager: unhealthy: missed 10 heartbeats in a row, 100ms apart", st.LastExit)
		require.ErrorIs(t, syscall.Kill(old, 0), syscall.ESRCH, "the wedged child is gone")
		awaitBeat(t, ctx, m, 0, anyBeat) // the new child answers
	})
	t.Run("a stuck child that ignores SIGTERM is killed after the grace", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rec := &recorder{}
		opts := options(t, 1, "stubborn", rec)
		opts.Health = manager.Health{Interval: 100 * time.Millisecond, Missed: 10, KillGrace: 300 * time.Millisecond}
		opts.StopTimeout = 300 * time.Millisecond // the replacement ignores SIGTERM too
		m, err := manager.Start(ctx, opts)
		require.NoError(t, err)
		awaitBeat(t, ctx, m, 0, anyBeat)
		old := m.Status()[0].PID

		require.NoError(t, m.Send(ctx, 0, ipc.Message{Type: "wedge"}))
		rec.await(t, ctx, func(ev []manager.Event) bool { return has(ev, manager.EventReady, 0, old) })
		exited := eventOf(rec, manager.EventExited, old)
		require.ErrorIs(t, exited.Err, manager.ErrUnhealthy)
		require.ErrorContains(t, exited.Err, "; killed after 300ms: signal: killed")
		require.ErrorIs(t, syscall.Kill(old, 0), syscall.ESRCH, "the wedged child is gone")
		current := m.Status()[0].PID
		// The replacement ignores SIGTERM too: Stop kills it and says so.
		require.ErrorContains(t, m.Stop(ctx), "did not stop within 300ms; killed")
		require.ErrorIs(t, syscall.Kill(current, 0), syscall.ESRCH, "the replacement is gone")
	})
	t.Run("a child that stays not ready past the grace is replaced", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rec := &recorder{}
		opts := options(t, 1, "serve", rec)
		opts.Health = manager.Health{Interval: 100 * time.Millisecond, Missed: 30, NotReadyGrace: 300 * time.Millisecond, KillGrace: 10 * time.Second}
		m := startChecked(t, opts, rec)
		awaitBeat(t, ctx, m, 0, anyBeat)
		old := m.Status()[0].PID

		require.NoError(t, m.Send(ctx, 0, ipc.Message{Type: "not-ready"}))
		rec.await(t, ctx, func(ev []manager.Event) bool { return has(ev, manager.EventReady, 0, old) })
		require.EqualError(t, eventOf(rec, manager.EventUnhealthy, old).Err, "reported not ready for longer than 300ms")
		require.ErrorIs(t, eventOf(rec, manager.EventExited, old).Err, manager.ErrUnhealthy)
		require.Equal(t, 1, m.Status()[0].Restarts)
	})
}

// eventOf returns the event of kind for the child pid; it fails the test
// when there is none.
func eventOf(r *recorder, kind manager.EventKind, pid int) manager.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Kind == kind && e.PID == pid {
			return e
		}
	}
	panic(errors.New("no " + kind.String() + " event"))
}
