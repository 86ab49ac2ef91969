package pool_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// A ctx kept past its task's return reports how the task's context ended:
// at TaskTimeout if the task was still running then, as a context with a
// deadline would, and at the task's return otherwise.
func TestKeptTaskContextAndTaskTimeout(t *testing.T) {
	for _, sub := range submitters {
		t.Run(sub.name+": a task that succeeds in time leaves a kept ctx that reports Canceled after the deadline too", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				kept := make(chan context.Context, 1)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					kept <- ctx
					time.Sleep(500 * time.Millisecond)
					return 7, nil
				}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Hour})
				caller, cancel := context.WithCancel(bg)
				defer cancel()
				out, err := sub.run(p, caller)
				require.NoError(t, err)
				require.Equal(t, 7, out)
				time.Sleep(2 * time.Second) // past the deadline it had
				ctx := <-kept
				require.ErrorIs(t, ctx.Err(), context.Canceled)
				require.Equal(t, context.Canceled, context.Cause(ctx))
			})
		})
	}

	t.Run("a task that ignores its ctx is still declared hung only after TaskTimeout plus HungGrace", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p, err := pool.NewFunc(func(context.Context, int) (int, error) {
				<-release
				return 0, nil
			}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: 3 * time.Second})
			require.NoError(t, err)
			defer func() {
				close(release)
				synctest.Wait()
				_ = p.Close(bg)
			}()
			f, err := p.Submit(bg, 1)
			require.NoError(t, err)
			start := time.Now()
			_, err = f.Wait(bg)
			require.ErrorIs(t, err, pool.ErrTimeout)
			require.Equal(t, 4*time.Second, time.Since(start))
		})
	})
}

// The watchdog looks at a task that overran its deadline again only at the
// moment it would be declared hung; a task that starts on the same slot
// before then still has its context ended at its own deadline.
func TestTaskContextExpiresAfterAnOverrunOnTheSameSlot(t *testing.T) {
	for _, sub := range submitters {
		t.Run(sub.name+": a task that follows one past its deadline and succeeds late leaves a kept ctx that was done at its own deadline", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				kept := make(chan context.Context, 2)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					kept <- ctx
					time.Sleep(1500 * time.Millisecond) // past TaskTimeout, never looking at ctx
					return 7, nil
				}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Hour})
				for range 2 {
					out, err := sub.run(p, context.WithValue(bg, valueKey{}, "v"))
					require.NoError(t, err)
					require.Equal(t, 7, out)
				}
				for i := range 2 {
					ctx := <-kept
					require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "task %d", i+1)
					require.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded, "task %d", i+1)
				}
				require.EqualValues(t, 2, p.Stats().Completed)
			})
		})
	}
}

func TestHungAfterAnOverrunOnTheSameSlot(t *testing.T) {
	t.Run("a task that follows one past its deadline is declared hung exactly at its own TaskTimeout plus HungGrace", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p, err := pool.NewFunc(func(_ context.Context, n int) (int, error) {
				if n == 1 {
					time.Sleep(1500 * time.Millisecond) // past TaskTimeout, then returns
					return n, nil
				}
				<-release // ignores its ctx
				return n, nil
			}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: 3 * time.Second})
			require.NoError(t, err)
			defer func() {
				close(release)
				synctest.Wait()
				_ = p.Close(bg)
			}()
			first, err := p.Submit(bg, 1)
			require.NoError(t, err)
			second, err := p.Submit(bg, 2)
			require.NoError(t, err)
			_, err = first.Wait(bg)
			require.NoError(t, err)
			start := time.Now()
			_, err = second.Wait(bg)
			require.ErrorIs(t, err, pool.ErrTimeout)
			require.Equal(t, 4*time.Second, time.Since(start))
		})
	})
}
