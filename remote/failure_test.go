package remote_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

func TestNoMembers(t *testing.T) {
	t.Run("by default a call made before any member exists reaches one that starts within the wait", func(t *testing.T) {
		s := startServer(t)
		ev := newEvents()
		p := callers(t, connect(t, s), remote.Options{OnEvent: ev.add}, pool.Options{})
		joined := make(chan struct{})
		go func() {
			defer close(joined)
			<-ev.hook // the first "no responders"
			startMember(t, s, newHandler().run, pool.Options{}, remote.MemberOptions{})
		}()
		out, err := p.Run(context.Background(), job{Text: "late"})
		<-joined // Serve may still be returning when the answer comes
		require.NoError(t, err)
		require.Equal(t, "echo late", out)
		require.Positive(t, ev.count(remote.NoResponders))
	})
	t.Run("a call that finds no member within NoMembersWait fails with ErrNoMembers", func(t *testing.T) {
		s := startServer(t)
		ev := newEvents()
		const wait = 100 * time.Millisecond
		p := callers(t, connect(t, s), remote.Options{OnEvent: ev.add, NoMembersWait: wait}, pool.Options{})
		start := time.Now()
		_, err := p.Run(context.Background(), job{})
		require.ErrorIs(t, err, remote.ErrNoMembers)
		require.EqualError(t, err, `remote: no member answers on "svc" within 100ms`)
		require.GreaterOrEqual(t, time.Since(start), wait)
		// It sent again with backoff (1ms doubling to 100ms) rather than
		// once, and not in a hot loop: a few sends, not thousands.
		require.Greater(t, ev.count(remote.NoResponders), 2)
		require.Less(t, ev.count(remote.NoResponders), 50)
	})
	t.Run("a negative NoMembersWait fails the call at the first answer", func(t *testing.T) {
		s := startServer(t)
		ev := newEvents()
		p := callers(t, connect(t, s), remote.Options{OnEvent: ev.add, NoMembersWait: -1}, pool.Options{})
		_, err := p.Run(context.Background(), job{})
		require.ErrorIs(t, err, remote.ErrNoMembers)
		require.EqualError(t, err, `remote: no member answers on "svc"`)
		require.Equal(t, 1, ev.count(remote.NoResponders))
	})
	t.Run("the caller's ctx ends the wait at once", func(t *testing.T) {
		s := startServer(t)
		ev := newEvents()
		p := callers(t, connect(t, s), remote.Options{OnEvent: ev.add, NoMembersWait: time.Hour}, pool.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for e := range ev.hook {
				if e.Kind == remote.NoResponders && e.Attempt >= 3 {
					cancel()
					return
				}
			}
		}()
		_, err := p.Run(ctx, job{})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, remote.ErrNoMembers)
	})
}

// echo answers every job at once.
func echo(_ context.Context, j job) (string, error) { return "echo " + j.Text, nil }

// fastLoss makes callers notice a dead member within half a second.
var fastLoss = remote.Options{Heartbeat: 20 * time.Millisecond, LostAfter: 500 * time.Millisecond}

func TestMemberDiesMidTask(t *testing.T) {
	t.Run("an at-most-once call fails with ErrMemberLost", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		defer close(h.release)
		dying := startMember(t, s, h.run, pool.Options{}, remote.MemberOptions{})
		ev := newEvents()
		o := fastLoss
		o.OnEvent = ev.add
		p := callers(t, connect(t, s), o, pool.Options{})
		done := make(chan error, 1)
		go func() {
			_, err := p.Run(context.Background(), job{Op: "block", Text: "t"})
			done <- err
		}()
		<-h.started
		dying.nc.Close() // no reply and no heartbeat will come
		err := <-done
		require.ErrorIs(t, err, remote.ErrMemberLost)
		require.Equal(t, 1, ev.count(remote.Lost))
		require.Zero(t, ev.count(remote.Resent))
		// The member's death is a crash of the caller's worker: the pool
		// counted it and rebuilt the worker, which serves the next call.
		require.True(t, pool.IsFatal(err))
		st := p.Stats()
		require.Equal(t, uint64(1), st.Restarts)
		require.Equal(t, uint64(1), st.Failed)
		startMember(t, s, echo, pool.Options{}, remote.MemberOptions{})
		out, err := p.Run(context.Background(), job{Text: "next"})
		require.NoError(t, err)
		require.Equal(t, "echo next", out)
	})
	for _, c := range []struct {
		name string
		opts bool
		mark func(context.Context) context.Context
	}{
		{"an idempotent call is sent to another member", false, remote.Idempotent},
		{"Options.Idempotent sends a call to another member", true, func(ctx context.Context) context.Context { return ctx }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t)
			h := newHandler()
			defer close(h.release)
			dying := startMember(t, s, h.run, pool.Options{}, remote.MemberOptions{})
			ev := newEvents()
			o := fastLoss
			o.OnEvent, o.Idempotent = ev.add, c.opts
			p := callers(t, connect(t, s), o, pool.Options{})
			done := make(chan error, 1)
			go func() {
				out, err := p.Run(c.mark(context.Background()), job{Op: "block", Text: "t"})
				if err == nil && out != "echo t" {
					err = &userError{"wrong answer " + out}
				}
				done <- err
			}()
			<-h.started
			startMember(t, s, echo, pool.Options{}, remote.MemberOptions{})
			dying.nc.Close() // no reply and no heartbeat will come
			require.NoError(t, <-done)
			// One loss at least, the dead member's; a stall of the
			// machine past LostAfter could add one more.
			require.GreaterOrEqual(t, ev.count(remote.Lost), 1)
			require.Equal(t, ev.count(remote.Lost), ev.count(remote.Resent))
		})
	}
	t.Run("AtMostOnce overrides Options.Idempotent", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		defer close(h.release)
		dying := startMember(t, s, h.run, pool.Options{}, remote.MemberOptions{})
		o := fastLoss
		o.Idempotent = true
		p := callers(t, connect(t, s), o, pool.Options{})
		done := make(chan error, 1)
		go func() {
			_, err := p.Run(remote.AtMostOnce(context.Background()), job{Op: "block"})
			done <- err
		}()
		<-h.started
		dying.nc.Close()
		require.ErrorIs(t, <-done, remote.ErrMemberLost)
	})
}

func TestPayloads(t *testing.T) {
	s := startServer(t)
	startMember(t, s, newHandler().run, pool.Options{}, remote.MemberOptions{MaxPayload: 1000})
	nc := connect(t, s)
	p := callers(t, nc, remote.Options{MaxPayload: 1000}, pool.Options{})

	t.Run("a request over the limit fails before it is sent", func(t *testing.T) {
		_, err := p.Run(context.Background(), job{Text: strings.Repeat("x", 2000)})
		require.ErrorIs(t, err, remote.ErrTooLarge)
		require.Regexp(t, `^remote: payload too large: request of \d+ bytes over the 1000-byte limit$`, err.Error())
	})
	t.Run("a reply over the member's limit fails the call", func(t *testing.T) {
		_, err := p.Run(context.Background(), job{Op: "big", Size: 2000})
		require.ErrorIs(t, err, remote.ErrTooLarge)
		require.Regexp(t, `^remote: payload too large: reply of \d+ bytes over the 1000-byte limit$`, err.Error())
	})
	t.Run("a request in another codec is refused as undecodable", func(t *testing.T) {
		js := callers(t, nc, remote.Options{Codec: wire.JSON}, pool.Options{})
		_, err := js.Run(context.Background(), job{})
		require.ErrorIs(t, err, remote.ErrUndecodable)
		require.EqualError(t, err, "remote: undecodable payload: request in codec json, member decodes gob")
	})
	t.Run("a request of another type is refused as undecodable", func(t *testing.T) {
		other, err := pool.New(remote.Factory[[]int, string](nc, "svc", remote.Options{}), pool.Options{})
		require.NoError(t, err)
		defer func() { require.NoError(t, other.Close(context.Background())) }()
		_, err = other.Run(context.Background(), []int{1})
		require.ErrorIs(t, err, remote.ErrUndecodable)
	})
}

func TestStop(t *testing.T) {
	t.Run("stop answers the tasks it took and sends new ones elsewhere", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		first := startMember(t, s, h.run, pool.Options{}, remote.MemberOptions{})
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{MaxWorkers: 4})
		fut, err := p.Submit(context.Background(), job{Op: "block", Text: "taken"})
		require.NoError(t, err)
		<-h.started
		stopped := make(chan error, 1)
		go func() { stopped <- first.m.Stop(context.Background()) }()
		startMember(t, s, newHandler().run, pool.Options{}, remote.MemberOptions{})
		out, err := p.Run(context.Background(), job{Text: "new"})
		require.NoError(t, err)
		require.Equal(t, "echo new", out)
		close(h.release)
		require.NoError(t, <-stopped)
		out, err = fut.Wait(context.Background())
		require.NoError(t, err)
		require.Equal(t, "released taken", out)
	})
	t.Run("stop returns when its ctx ends and closing the pool cancels what still runs", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		defer close(h.release)
		work, err := pool.NewFunc(h.run, pool.Options{})
		require.NoError(t, err)
		m, err := remote.Serve(connect(t, s), "svc", work, remote.MemberOptions{})
		require.NoError(t, err)
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{})
		fut, err := p.Submit(context.Background(), job{Op: "block"})
		require.NoError(t, err)
		<-h.started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, m.Stop(ctx), context.Canceled)
		require.ErrorIs(t, work.Close(ctx), context.Canceled)
		_, err = fut.Wait(context.Background())
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestOptions(t *testing.T) {
	s := startServer(t)
	nc := connect(t, s)
	for _, c := range []struct {
		opts remote.Options
		msg  string
	}{
		{remote.Options{Heartbeat: -1}, "remote: Options.Heartbeat must be >= 0, got -1ns"},
		{remote.Options{MaxPayload: -1}, "remote: Options.MaxPayload must be >= 0, got -1"},
		{remote.Options{Heartbeat: time.Second, LostAfter: time.Second}, "remote: Options.LostAfter (1s) must exceed Heartbeat (1s)"},
	} {
		t.Run("factory refuses "+c.msg, func(t *testing.T) {
			require.PanicsWithValue(t, c.msg, func() { remote.Factory[job, string](nc, "svc", c.opts) })
		})
	}
	t.Run("serve refuses a negative payload limit", func(t *testing.T) {
		p, err := pool.NewFunc(newHandler().run, pool.Options{})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()
		_, err = remote.Serve(nc, "svc", p, remote.MemberOptions{MaxPayload: -1})
		require.EqualError(t, err, "remote: MemberOptions.MaxPayload must be >= 0, got -1")
	})
}

func TestHeartbeats(t *testing.T) {
	t.Run("a task that runs past LostAfter is kept alive by heartbeats", func(t *testing.T) {
		s := startServer(t)
		const lostAfter = 400 * time.Millisecond
		slow := func(ctx context.Context, j job) (string, error) {
			select { // the workload: a task several times longer than LostAfter
			case <-time.After(3 * lostAfter):
				return "slow " + j.Text, nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		startMember(t, s, slow, pool.Options{}, remote.MemberOptions{})
		ev := newEvents()
		p := callers(t, connect(t, s), remote.Options{Heartbeat: 20 * time.Millisecond, LostAfter: lostAfter, OnEvent: ev.add}, pool.Options{})
		out, err := p.Run(context.Background(), job{Text: "t"})
		require.NoError(t, err)
		require.Equal(t, "slow t", out)
		require.Zero(t, ev.count(remote.Lost))
	})
}

func TestClosedConnection(t *testing.T) {
	t.Run("a caller whose connection closed fails its call with a fatal error", func(t *testing.T) {
		s := startServer(t)
		startMember(t, s, echo, pool.Options{}, remote.MemberOptions{})
		nc, err := s.Connect()
		require.NoError(t, err)
		p := callers(t, nc, remote.Options{}, pool.Options{})
		_, err = p.Run(context.Background(), job{Text: "before"})
		require.NoError(t, err)
		nc.Close()
		_, err = p.Run(context.Background(), job{Text: "after"})
		require.ErrorIs(t, err, nats.ErrConnectionClosed)
		require.True(t, pool.IsFatal(err))
	})
}

func TestCallerDeadline(t *testing.T) {
	t.Run("a task whose caller's deadline passed while it was queued never runs", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		m := startMember(t, s, h.run, pool.Options{MaxWorkers: 1}, remote.MemberOptions{})
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{MaxWorkers: 4})
		first, err := p.Submit(context.Background(), job{Op: "block", Text: "first"})
		require.NoError(t, err)
		require.Equal(t, "first", <-h.started)

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = p.Run(ctx, job{Op: "block", Text: "late"})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Eventually(t, func() bool { return m.pool.Stats().Canceled == 1 }, 5*time.Second, time.Millisecond)

		close(h.release)
		_, err = first.Wait(context.Background())
		require.NoError(t, err)
		out, err := p.Run(context.Background(), job{Text: "after"})
		require.NoError(t, err)
		require.Equal(t, "echo after", out)
		require.Empty(t, h.started, "the late task must not have run")
	})
}
