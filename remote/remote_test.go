package remote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/crewkit/crew/wire"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	for _, codec := range wire.Codecs() {
		t.Run(fmt.Sprintf("run and submit return the member's answer with %s", codec.Name()), func(t *testing.T) {
			s := startServer(t)
			h := newHandler()
			startMember(t, s, h.run, pool.Options{}, remote.MemberOptions{Codec: codec})
			p := callers(t, connect(t, s), remote.Options{Codec: codec}, pool.Options{MaxWorkers: 4})

			out, err := p.Run(context.Background(), job{Text: "a"})
			require.NoError(t, err)
			require.Equal(t, "echo a", out)

			fut, err := p.Submit(context.Background(), job{Text: "b"})
			require.NoError(t, err)
			out, err = fut.Wait(context.Background())
			require.NoError(t, err)
			require.Equal(t, "echo b", out)
		})
	}
	t.Run("the service's stats carry the member pool's stats", func(t *testing.T) {
		s := startServer(t)
		m := startMember(t, s, newHandler().run, pool.Options{Name: "members"}, remote.MemberOptions{})
		p := callers(t, connect(t, s), remote.Options{}, pool.Options{})
		for range 3 {
			_, err := p.Run(context.Background(), job{})
			require.NoError(t, err)
		}
		st := m.m.Service().Stats()
		require.Len(t, st.Endpoints, 1)
		var ps pool.Stats
		require.NoError(t, json.Unmarshal(st.Endpoints[0].Data, &ps))
		require.Equal(t, "members", ps.Name)
		require.Equal(t, uint64(3), ps.Completed)
		require.Equal(t, "gob", m.m.Service().Info().Metadata["codec"])
	})
}

func TestErrorsKeepTheirKind(t *testing.T) {
	s := startServer(t)
	fn := func(ctx context.Context, j job) (string, error) {
		switch j.Op {
		case "timeout":
			<-ctx.Done()
			return "", ctx.Err()
		case "failed":
			return "", fmt.Errorf("inner pool: %w", pool.ErrPoolFailed)
		}
		return newHandler().run(ctx, j)
	}
	startMember(t, s, fn, pool.Options{TaskTimeout: 20 * time.Millisecond}, remote.MemberOptions{})
	p := callers(t, connect(t, s), remote.Options{}, pool.Options{})
	ctx := context.Background()

	t.Run("a panic arrives as a PanicError with its value and stack", func(t *testing.T) {
		_, err := p.Run(ctx, job{Op: "panic", Text: "x"})
		var pe *pool.PanicError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, wire.RemoteValue("boom: x"), pe.Value)
		require.Contains(t, string(pe.Stack), "handler).run")
	})
	t.Run("a task past the member's TaskTimeout arrives as ErrTimeout", func(t *testing.T) {
		_, err := p.Run(ctx, job{Op: "timeout"})
		require.ErrorIs(t, err, pool.ErrTimeout)
	})
	t.Run("a failed pool behind the task arrives as ErrPoolFailed", func(t *testing.T) {
		_, err := p.Run(ctx, job{Op: "failed"})
		require.ErrorIs(t, err, pool.ErrPoolFailed)
		require.EqualError(t, err, "inner pool: pool: failed")
	})
	t.Run("a user's error arrives with its message", func(t *testing.T) {
		_, err := p.Run(ctx, job{Op: "fail", Text: "bad input"})
		require.EqualError(t, err, "bad input")
	})
}

func TestBusyMembers(t *testing.T) {
	t.Run("a member that cannot take a task sends it to another member", func(t *testing.T) {
		s := startServer(t)
		closed := startMember(t, s, newHandler().run, pool.Options{}, remote.MemberOptions{})
		require.NoError(t, closed.pool.Close(context.Background())) // answers busy to everything
		startMember(t, s, newHandler().run, pool.Options{}, remote.MemberOptions{})
		ev := newEvents()
		p := callers(t, connect(t, s), remote.Options{OnEvent: ev.add}, pool.Options{MaxWorkers: 4})
		for i := range 40 {
			out, err := p.Run(context.Background(), job{Text: fmt.Sprint(i)})
			require.NoError(t, err)
			require.Equal(t, fmt.Sprint("echo ", i), out)
		}
		// The queue group picks either member for each send: 40 calls all
		// missing the closed one has a chance of 2^-40.
		require.Positive(t, ev.count(remote.Busy))
		require.Positive(t, closed.m.Service().Stats().Endpoints[0].NumErrors)
	})
	t.Run("a call to members that stay busy retries until its ctx ends", func(t *testing.T) {
		s := startServer(t)
		h := newHandler()
		full := startMember(t, s, h.run, pool.Options{MaxWorkers: 1, QueueSize: 1}, remote.MemberOptions{})
		defer close(h.release)
		ev := newEvents()
		p := callers(t, connect(t, s), remote.Options{OnEvent: ev.add}, pool.Options{MaxWorkers: 4})
		// Fill the member: one job running, one queued.
		_, err := p.Submit(context.Background(), job{Op: "block", Text: "running"})
		require.NoError(t, err)
		require.Equal(t, "running", <-h.started)
		_, err = p.Submit(context.Background(), job{Op: "block", Text: "queued"})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return full.pool.Stats().Queued == 1 }, 5*time.Second, time.Millisecond)

		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for e := range ev.hook {
				if e.Kind == remote.Busy && e.Attempt >= 3 {
					cancel()
					return
				}
			}
		}()
		_, err = p.Run(ctx, job{Text: "third"})
		require.ErrorIs(t, err, context.Canceled)
		require.GreaterOrEqual(t, ev.count(remote.Busy), 3)
		require.Positive(t, full.pool.Stats().Rejected)
	})
}
