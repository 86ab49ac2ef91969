package pool_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// TestOutcomes walks one task through each way it can end, on a pool with
// one worker and a queue of one. Each case runs in a synctest bubble, so
// synctest.Wait tells when goroutines are blocked.
func TestOutcomes(t *testing.T) {
	opts := pool.Options{MaxWorkers: 1, QueueSize: 1, OnError: func(error) {}}
	cases := []struct {
		name string
		test func(t *testing.T, p *pool.Pool[int, int], g *gate)
	}{
		{"a task runs and returns its result", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			close(g.open)
			out, err := p.Run(bg, 7)
			require.NoError(t, err)
			require.Equal(t, 7, out)
		}},
		{"a task waits in the queue while the worker is busy", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			first := submit(t, p, bg, 1)
			require.Equal(t, 1, <-g.entered)
			second := submit(t, p, bg, 2)
			require.Equal(t, 1, p.Stats().Queued)
			close(g.open)
			requireResult(t, first, 1)
			requireResult(t, second, 2)
		}},
		{"a full queue rejects TrySubmit at once", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			first := submit(t, p, bg, 1)
			<-g.entered
			second := submit(t, p, bg, 2)
			_, err := p.TrySubmit(bg, 3)
			require.ErrorIs(t, err, pool.ErrQueueFull)
			require.ErrorIs(t, p.TryGo(bg, 3), pool.ErrQueueFull)
			require.Equal(t, uint64(2), p.Stats().Rejected)
			close(g.open)
			requireResult(t, first, 1)
			requireResult(t, second, 2)
		}},
		{"TryRun fails at once on a full queue and otherwise returns the result", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			first := submit(t, p, bg, 1)
			<-g.entered
			second := submit(t, p, bg, 2)
			_, err := p.TryRun(bg, 3)
			require.ErrorIs(t, err, pool.ErrQueueFull)
			require.Equal(t, uint64(1), p.Stats().Rejected)
			close(g.open)
			requireResult(t, first, 1)
			requireResult(t, second, 2)
			out, err := p.TryRun(bg, 4)
			require.NoError(t, err)
			require.Equal(t, 4, out)
		}},
		{"a task canceled while queued never runs", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			first := submit(t, p, bg, 1)
			<-g.entered
			ctx, cancel := context.WithCancel(bg)
			queued := submit(t, p, ctx, 2)
			cancel()
			close(g.open)
			requireResult(t, first, 1)
			_, err := queued.Wait(bg)
			require.ErrorIs(t, err, context.Canceled)
			require.Empty(t, g.entered, "the canceled task ran")
			require.Equal(t, uint64(1), p.Stats().Canceled)
		}},
		{"a running task sees its ctx canceled", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			ctx, cancel := context.WithCancel(bg)
			f := submit(t, p, ctx, 1)
			<-g.entered
			cancel()
			_, err := f.Wait(bg)
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, uint64(1), p.Stats().Failed)
		}},
		{"Run returns when its ctx ends and the task still resolves", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			first := submit(t, p, bg, 1)
			<-g.entered
			ctx, cancel := context.WithCancel(bg)
			done := make(chan error)
			go func() { _, err := p.Run(ctx, 2); done <- err }()
			synctest.Wait()
			require.Equal(t, 1, p.Stats().Queued)
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
			close(g.open)
			requireResult(t, first, 1)
			require.NoError(t, p.Close(bg))
			require.Equal(t, uint64(1), p.Stats().Canceled)
		}},
		{"a panic becomes a PanicError with the stack", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			close(g.open)
			_, err := p.Run(bg, -1)
			var pe *pool.PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "negative", pe.Value)
			require.Contains(t, string(pe.Stack), "outcome_test.go")
			out, err := p.Run(bg, 3)
			require.NoError(t, err, "the pool lives on")
			require.Equal(t, 3, out)
			st := p.Stats()
			require.Equal(t, uint64(1), st.Panicked)
			require.Zero(t, st.Restarts, "a stateless worker is kept")
		}},
		{"work submitted after Close fails with ErrClosed", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			close(g.open)
			require.NoError(t, p.Close(bg))
			_, err := p.Run(bg, 1)
			require.ErrorIs(t, err, pool.ErrClosed)
			_, err = p.Submit(bg, 1)
			require.ErrorIs(t, err, pool.ErrClosed)
			_, err = p.TrySubmit(bg, 1)
			require.ErrorIs(t, err, pool.ErrClosed)
			require.ErrorIs(t, p.Go(bg, 1), pool.ErrClosed)
		}},
		{"Close drains queued tasks", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			first := submit(t, p, bg, 1)
			<-g.entered
			second := submit(t, p, bg, 2)
			closed := make(chan error)
			go func() { closed <- p.Close(bg) }()
			close(g.open)
			require.NoError(t, <-closed)
			requireResult(t, first, 1)
			requireResult(t, second, 2)
		}},
		{"Close cancels what is left when its ctx ends", func(t *testing.T, p *pool.Pool[int, int], g *gate) {
			running := submit(t, p, bg, 1)
			<-g.entered
			queued := submit(t, p, bg, 2)
			ctx, cancel := context.WithCancel(bg)
			cancel()
			err := p.Close(ctx)
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, 1, ce.Canceled)
			require.Empty(t, ce.Hung)
			_, err = running.Wait(bg)
			require.ErrorIs(t, err, context.Canceled, "the running task saw its context cancelled")
			_, err = queued.Wait(bg)
			require.ErrorIs(t, err, pool.ErrClosed)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGate()
				p := newPool(t, func(ctx context.Context, n int) (int, error) {
					if n < 0 {
						panic("negative")
					}
					return g.task(ctx, n)
				}, opts)
				c.test(t, p, g)
			})
		})
	}
}

func TestTaskTimeout(t *testing.T) {
	t.Run("a task past TaskTimeout fails with ErrTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, func(ctx context.Context, d time.Duration) (int, error) {
				select {
				case <-time.After(d):
					return 1, nil
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second})
			start := time.Now()
			_, err := p.Run(bg, time.Hour)
			require.ErrorIs(t, err, pool.ErrTimeout)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Equal(t, time.Second, time.Since(start), "the deadline counts from the start")
			out, err := p.Run(bg, time.Millisecond)
			require.NoError(t, err)
			require.Equal(t, 1, out)
			require.Equal(t, uint64(1), p.Stats().TimedOut)
		})
	})
	t.Run("the deadline counts from when the task starts, not when it was queued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, func(ctx context.Context, d time.Duration) (int, error) {
				time.Sleep(d)
				return 1, ctx.Err()
			}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second})
			first := submit(t, p, bg, 900*time.Millisecond)
			second := submit(t, p, bg, 900*time.Millisecond)
			requireResult(t, first, 1)
			requireResult(t, second, 1)
		})
	})
}

// submit queues in and fails the test if the pool refuses it.
func submit[In, Out any](t *testing.T, p *pool.Pool[In, Out], ctx context.Context, in In) *pool.Future[Out] {
	t.Helper()
	f, err := p.Submit(ctx, in)
	require.NoError(t, err)
	return f
}

func requireResult[Out any](t *testing.T, f *pool.Future[Out], want Out) {
	t.Helper()
	out, err := f.Wait(bg)
	require.NoError(t, err)
	require.Equal(t, want, out)
}

var errBoom = errors.New("boom")

func TestTasksTryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tasks, err := pool.NewTasks(pool.Options{MaxWorkers: 1, QueueSize: 1})
		require.NoError(t, err)
		defer func() { require.NoError(t, tasks.Close(bg)) }()
		release := make(chan struct{})
		block := func(context.Context) error { <-release; return nil }
		_, err = tasks.Submit(bg, block)
		require.NoError(t, err)
		synctest.Wait() // the worker runs it
		_, err = tasks.Submit(bg, block)
		require.NoError(t, err)
		ran := false
		err = tasks.TryRun(bg, func(context.Context) error { ran = true; return nil })
		require.ErrorIs(t, err, pool.ErrQueueFull)
		require.False(t, ran)
		close(release)
		synctest.Wait() // both blocking tasks finish
		errBoom := errors.New("boom")
		require.ErrorIs(t, tasks.TryRun(bg, func(context.Context) error { ran = true; return errBoom }), errBoom)
		require.True(t, ran)
	})
}
