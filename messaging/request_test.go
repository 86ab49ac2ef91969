package messaging_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/messaging"
)

type requests = messaging.Port[*messaging.Envelope[int, string]]

func newRequests(opts messaging.Options[*messaging.Envelope[int, string]]) *requests {
	return messaging.NewPort(opts)
}

// respond answers each request on port with handle until the port closes.
func respond(port *requests, handle func(*messaging.Envelope[int, string])) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for env := range port.C() {
			handle(env)
		}
	}()
	return done
}

type result struct {
	resp string
	err  error
}

func request(ctx context.Context, port *requests, body int) chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := messaging.Request(ctx, port, body)
		out <- result{resp, err}
	}()
	return out
}

func TestRequestReplies(t *testing.T) {
	t.Run("the requester gets the responder's reply and error", func(t *testing.T) {
		port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
		boom := errors.New("boom")
		done := respond(port, func(env *messaging.Envelope[int, string]) {
			if env.Body < 0 {
				require.NoError(t, env.Reply("", boom))
				return
			}
			require.NoError(t, env.Reply(string(rune('a'+env.Body)), nil))
		})
		resp, err := messaging.Request(t.Context(), port, 2)
		require.NoError(t, err)
		require.Equal(t, "c", resp)
		_, err = messaging.Request(t.Context(), port, -1)
		require.ErrorIs(t, err, boom)
		require.NoError(t, port.Close())
		<-done
	})

	t.Run("only the first answer counts", func(t *testing.T) {
		port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
		replies := make(chan error, 3)
		done := respond(port, func(env *messaging.Envelope[int, string]) {
			replies <- env.Reply("first", nil)
			replies <- env.Reply("second", nil)
			replies <- env.Decline()
		})
		resp, err := messaging.Request(t.Context(), port, 1)
		require.NoError(t, err)
		require.Equal(t, "first", resp)
		require.NoError(t, <-replies)
		require.ErrorIs(t, <-replies, messaging.ErrAlreadyReplied)
		require.ErrorIs(t, <-replies, messaging.ErrAlreadyReplied)
		require.NoError(t, port.Close())
		<-done
	})

	t.Run("Reply never blocks the responder after the requester left", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
			ctx, cancel := context.WithCancel(t.Context())
			out := request(ctx, port, 1)
			env, err := port.Recv(t.Context())
			require.NoError(t, err)
			cancel()
			require.ErrorIs(t, (<-out).err, context.Canceled)
			require.ErrorIs(t, env.Context().Err(), context.Canceled)
			require.NoError(t, env.Reply("too late", nil))
		})
	})
}

func TestRequestNoResponder(t *testing.T) {
	t.Run("a closed port gives ErrNoResponder", func(t *testing.T) {
		port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
		require.NoError(t, port.Close())
		_, err := messaging.Request(t.Context(), port, 1)
		require.ErrorIs(t, err, messaging.ErrNoResponder)
		require.ErrorIs(t, err, messaging.ErrClosed)
	})

	t.Run("a declined request gives ErrNoResponder", func(t *testing.T) {
		port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
		done := respond(port, func(env *messaging.Envelope[int, string]) {
			require.NoError(t, env.Decline())
		})
		_, err := messaging.Request(t.Context(), port, 1)
		require.ErrorIs(t, err, messaging.ErrNoResponder)
		require.NoError(t, port.Close())
		<-done
	})

	t.Run("an envelope the responder dropped gives ErrNoResponder once collected", func(t *testing.T) {
		port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
		done := respond(port, func(*messaging.Envelope[int, string]) {})
		out := request(t.Context(), port, 1)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var got result
		for got.err == nil && ctx.Err() == nil {
			runtime.GC()
			select {
			case got = <-out:
			default:
				runtime.Gosched()
			}
		}
		require.ErrorIs(t, got.err, messaging.ErrNoResponder)
		require.NoError(t, port.Close())
		<-done
	})

	t.Run("inside a synctest bubble a dropped envelope ends the request with ctx, not a crash", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			out := request(ctx, port, 1)
			_, err := port.Recv(t.Context())
			require.NoError(t, err)
			for range 3 {
				runtime.GC()
			}
			require.ErrorIs(t, (<-out).err, context.DeadlineExceeded)
		})
	})

	t.Run("an envelope dropped by the port's policy gives ErrNoResponder at once", func(t *testing.T) {
		for _, policy := range []messaging.Policy{messaging.DropOldest, messaging.DropNewest} {
			var dropped int
			port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{
				Capacity: 1,
				Policy:   policy,
				OnDrop:   func(*messaging.Envelope[int, string]) { dropped++ },
			})
			first := request(t.Context(), port, 1)
			for port.Len() == 0 {
				runtime.Gosched()
			}
			second := request(t.Context(), port, 2)
			lost, kept := first, second
			if policy == messaging.DropNewest {
				lost, kept = second, first
			}
			require.ErrorIs(t, (<-lost).err, messaging.ErrNoResponder, policy.String())
			require.Equal(t, 1, dropped)
			env, ok := port.TryRecv()
			require.True(t, ok)
			require.NoError(t, env.Reply("kept", nil))
			require.Equal(t, "kept", (<-kept).resp)
		}
	})

	t.Run("ctx ending while the responder works gives ctx.Err", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{})
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			out := request(ctx, port, 1)
			env, err := port.Recv(t.Context())
			require.NoError(t, err)
			require.ErrorIs(t, (<-out).err, context.DeadlineExceeded)
			require.ErrorIs(t, env.Decline(), nil)
		})
	})

	t.Run("a full Fail port gives ErrFull", func(t *testing.T) {
		port := newRequests(messaging.Options[*messaging.Envelope[int, string]]{Capacity: 1, Policy: messaging.Fail})
		require.NoError(t, port.TrySend(&messaging.Envelope[int, string]{}))
		_, err := messaging.Request(t.Context(), port, 1)
		require.ErrorIs(t, err, messaging.ErrFull)
	})

	t.Run("an envelope not made by Request cannot be answered", func(t *testing.T) {
		env := &messaging.Envelope[int, string]{Body: 1}
		require.ErrorIs(t, env.Reply("x", nil), messaging.ErrAlreadyReplied)
		require.NoError(t, env.Context().Err())
	})
}
