package pool_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/messaging"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// echo sends every message back; a negative one makes it panic.
func echo(ctx context.Context, inbox, outbox *messaging.Port[int]) error {
	for {
		n, err := inbox.Recv(ctx)
		if err != nil {
			return err
		}
		if n < 0 {
			panic("negative message")
		}
		if err := outbox.Send(ctx, n); err != nil {
			return err
		}
	}
}

// spawn starts a thread and stops it when the test ends.
func spawn[In, Out any](t *testing.T, fn pool.ThreadFunc[In, Out], opts pool.SpawnOptions) *pool.Thread[In, Out] {
	t.Helper()
	th, err := pool.Spawn(fn, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = th.Stop(bg) })
	return th
}

// recvAll receives n messages from th.
func recvAll[In, Out any](t *testing.T, th *pool.Thread[In, Out], n int) []Out {
	t.Helper()
	out := make([]Out, 0, n)
	for range n {
		v, err := th.Recv(bg)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// failing returns a ThreadFunc that posts the time of each run to its
// outbox, fails the first n runs with errBoom, then waits for Stop.
func failing(n int) pool.ThreadFunc[int, time.Time] {
	runs := 0
	return func(ctx context.Context, _ *messaging.Port[int], outbox *messaging.Port[time.Time]) error {
		runs++
		if err := outbox.Send(ctx, time.Now()); err != nil {
			return err
		}
		if runs <= n {
			return errBoom
		}
		<-ctx.Done()
		return ctx.Err()
	}
}

// gaps returns the durations between consecutive times, to the millisecond.
func gaps(times []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(times); i++ {
		out = append(out, times[i].Sub(times[i-1]).Round(time.Millisecond))
	}
	return out
}

func TestSpawn(t *testing.T) {
	t.Run("messages make a round trip through the thread in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			th := spawn(t, echo, pool.SpawnOptions{Name: "echo", InboxSize: 2, OutboxSize: 2})
			go func() {
				for i := range 10 {
					_ = th.Send(bg, i)
				}
			}()
			require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, recvAll(t, th, 10))
			require.NoError(t, th.Stop(bg))
			<-th.Done()
			require.NoError(t, th.Err())
			require.Zero(t, th.Restarts())
		})
	})
	t.Run("a panic restarts the function and the queued messages are still served", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			th := spawn(t, echo, pool.SpawnOptions{Name: "echo", OnEvent: rec.hook})
			require.NoError(t, th.Send(bg, -1))
			require.NoError(t, th.Send(bg, 5))
			require.Equal(t, []int{5}, recvAll(t, th, 1))
			require.Equal(t, 1, th.Restarts())
			require.NoError(t, th.Stop(bg))
			restarted := rec.kinds(pool.WorkerRestarted)
			require.Len(t, restarted, 1)
			var pe *pool.PanicError
			require.ErrorAs(t, restarted[0].Err, &pe)
			require.Equal(t, "negative message", pe.Value)
			require.Contains(t, string(pe.Stack), "spawn_test.go", "the stack shows where it panicked")
			require.Empty(t, rec.kinds(pool.WorkerBackoff), "the first crash restarts at once")
			require.Len(t, rec.kinds(pool.WorkerStarted), 2)
			require.Len(t, rec.kinds(pool.PoolClosed), 1)
		})
	})
	t.Run("consecutive errors back off exponentially up to the cap", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			th := spawn(t, failing(5), pool.SpawnOptions{OnEvent: rec.hook, Restart: pool.RestartPolicy{
				InitialBackoff: time.Second, MaxBackoff: 4 * time.Second, Jitter: 1e-9, Period: time.Minute}})
			runs := recvAll(t, th, 6)
			want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
			require.Equal(t, want, gaps(runs))
			require.Equal(t, 5, th.Restarts())
			require.NoError(t, th.Stop(bg))
			var delays []time.Duration
			for _, e := range rec.kinds(pool.WorkerBackoff) {
				delays = append(delays, e.Delay.Round(time.Millisecond))
			}
			require.Equal(t, want[1:], delays)
			for _, e := range rec.kinds(pool.WorkerRestarted) {
				require.ErrorIs(t, e.Err, errBoom)
			}
		})
	})
	t.Run("a run longer than MaxBackoff resets the backoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			runs := 0
			th := spawn(t, func(ctx context.Context, _ *messaging.Port[int], outbox *messaging.Port[time.Time]) error {
				runs++
				_ = outbox.Send(ctx, time.Now())
				if runs == 3 {
					time.Sleep(3 * time.Second) // a long, healthy run
				}
				if runs <= 4 {
					return errBoom
				}
				<-ctx.Done()
				return nil
			}, pool.SpawnOptions{Restart: pool.RestartPolicy{InitialBackoff: time.Second, MaxBackoff: 2 * time.Second, Jitter: 1e-9}})
			got := gaps(recvAll(t, th, 5))
			// Without the reset, the fourth run would wait 2s after the
			// third ended (a 5s gap) instead of starting at once.
			require.Equal(t, []time.Duration{0, time.Second, 3 * time.Second, time.Second}, got)
		})
	})
	t.Run("a function that returns nil ends the thread and its outbox drains", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			th := spawn(t, func(ctx context.Context, _ *messaging.Port[int], outbox *messaging.Port[string]) error {
				return outbox.Send(ctx, "bye")
			}, pool.SpawnOptions{})
			<-th.Done()
			require.NoError(t, th.Err())
			require.Equal(t, []string{"bye"}, recvAll(t, th, 1))
			_, err := th.Recv(bg)
			require.ErrorIs(t, err, pool.ErrClosed)
			require.ErrorIs(t, th.Send(bg, 1), pool.ErrClosed)
			require.NoError(t, th.Stop(bg))
		})
	})
	t.Run("past the intensity limit the thread fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			th := spawn(t, func(context.Context, *messaging.Port[int], *messaging.Port[int]) error {
				return errBoom
			}, pool.SpawnOptions{Name: "doomed", OnEvent: rec.hook, Restart: pool.RestartPolicy{MaxRestarts: 2, Period: time.Hour}})
			require.Nil(t, th.Err(), "Err is nil while the thread runs")
			<-th.Done()
			err := th.Err()
			require.ErrorIs(t, err, pool.ErrPoolFailed)
			require.ErrorIs(t, err, errBoom, "the last crash is named")
			require.EqualError(t, err, `pool: thread "doomed": failed after 2 restarts: boom`)
			require.Equal(t, 2, th.Restarts())
			require.ErrorIs(t, th.Send(bg, 1), pool.ErrClosed)
			_, err = th.Recv(bg)
			require.ErrorIs(t, err, pool.ErrClosed)
			require.NoError(t, th.Stop(bg), "stopping a failed thread is not an error")
			failed := rec.kinds(pool.PoolFailed)
			require.Len(t, failed, 1)
			require.ErrorIs(t, failed[0].Err, pool.ErrPoolFailed)
			require.ErrorIs(t, rec.kinds(pool.PoolClosed)[0].Err, pool.ErrPoolFailed)
		})
	})
	t.Run("TrySend reports a full inbox without waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			th := spawn(t, func(ctx context.Context, _ *messaging.Port[int], _ *messaging.Port[int]) error {
				<-ctx.Done()
				return nil
			}, pool.SpawnOptions{InboxSize: 1})
			require.NoError(t, th.TrySend(1))
			require.ErrorIs(t, th.TrySend(2), pool.ErrQueueFull)
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			require.ErrorIs(t, th.Send(ctx, 2), context.DeadlineExceeded, "Send waits, bounded by ctx")
			require.Equal(t, 1, th.Inbox().Len())
		})
	})
	t.Run("nil functions and invalid options are rejected", func(t *testing.T) {
		_, err := pool.Spawn[int, int](nil, pool.SpawnOptions{})
		require.EqualError(t, err, "pool: Spawn needs a non-nil ThreadFunc")
		for _, c := range []struct {
			opts pool.SpawnOptions
			want string
		}{
			{pool.SpawnOptions{InboxSize: -1}, "pool: InboxSize must be >= 0, got -1"},
			{pool.SpawnOptions{OutboxSize: -2}, "pool: OutboxSize must be >= 0, got -2"},
			{pool.SpawnOptions{HungGrace: -1}, "pool: HungGrace must be >= 0, got -1ns"},
			{pool.SpawnOptions{Restart: pool.RestartPolicy{Jitter: 2}}, "pool: RestartPolicy.Jitter must be in [0, 1], got 2"},
		} {
			_, err := pool.Spawn(echo, c.opts)
			require.EqualError(t, err, c.want)
		}
	})
}

func TestThreadStop(t *testing.T) {
	t.Run("Stop interrupts a backoff at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			th := spawn(t, failing(100), pool.SpawnOptions{OnEvent: rec.hook, Restart: pool.RestartPolicy{
				InitialBackoff: time.Hour, MaxBackoff: time.Hour, MaxRestarts: -1}})
			recvAll(t, th, 2)
			synctest.Wait() // the second run failed; the thread waits an hour
			start := time.Now()
			require.NoError(t, th.Stop(bg))
			require.Zero(t, time.Since(start))
			require.NoError(t, th.Err())
			backoffs := rec.kinds(pool.WorkerBackoff)
			require.Len(t, backoffs, 1)
			require.InDelta(t, float64(time.Hour), float64(backoffs[0].Delay), float64(0.2*float64(time.Hour)))
		})
	})
	t.Run("Stop reports a thread that ignores its context as hung", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			th := spawn(t, func(context.Context, *messaging.Port[int], *messaging.Port[int]) error {
				<-release // ignores ctx
				return nil
			}, pool.SpawnOptions{Name: "stubborn", HungGrace: time.Second})
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			defer cancel()
			start := time.Now()
			err := th.Stop(ctx)
			require.Equal(t, 3*time.Second, time.Since(start), "ctx, then HungGrace")
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Equal(t, []string{"stubborn worker 1 (running for 3s)"}, ce.Hung)
			select {
			case <-th.Done():
				t.Fatal("Done is closed only when the function returns")
			default:
			}
			close(release)
			<-th.Done()
			require.NoError(t, th.Err())
			require.Same(t, err, th.Stop(bg), "later calls return the first result")
		})
	})
	t.Run("Stop is idempotent and safe for concurrent use", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			th := spawn(t, echo, pool.SpawnOptions{})
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() { require.NoError(t, th.Stop(bg)) })
			}
			wg.Wait()
			require.NoError(t, th.Stop(bg))
			<-th.Done()
			require.ErrorIs(t, th.Send(bg, 1), pool.ErrClosed)
			require.ErrorIs(t, th.TrySend(1), pool.ErrClosed)
		})
	})
	t.Run("Stop returns a panic raised while stopping", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var cause error
			th := spawn(t, func(ctx context.Context, _ *messaging.Port[int], _ *messaging.Port[int]) error {
				<-ctx.Done()
				cause = context.Cause(ctx)
				panic("cleanup failed")
			}, pool.SpawnOptions{})
			var pe *pool.PanicError
			require.ErrorAs(t, th.Stop(bg), &pe)
			require.Equal(t, "cleanup failed", pe.Value)
			require.ErrorIs(t, cause, pool.ErrClosed, "Stop names itself as the cause")
			require.NoError(t, th.Err(), "a stopped thread has not failed")
		})
	})
	t.Run("messages sent before Stop are still drained by the function", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var got []int
			th := spawn(t, func(ctx context.Context, inbox *messaging.Port[int], _ *messaging.Port[int]) error {
				for {
					n, err := inbox.Recv(context.WithoutCancel(ctx))
					if errors.Is(err, messaging.ErrClosed) {
						return nil
					}
					got = append(got, n)
				}
			}, pool.SpawnOptions{})
			for i := range 3 {
				require.NoError(t, th.Send(bg, i))
			}
			require.NoError(t, th.Stop(bg))
			require.Equal(t, []int{0, 1, 2}, got)
		})
	})
}
