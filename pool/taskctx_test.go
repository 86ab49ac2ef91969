package pool_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

type ctxKey struct{}

// submitters are the two ways a task gets a cancellable ctx of its own:
// Run gives each task a fresh context, Submit keeps it in the future.
var submitters = []struct {
	name string
	run  func(p *pool.Pool[int, int], ctx context.Context) (int, error)
}{
	{"Run", func(p *pool.Pool[int, int], ctx context.Context) (int, error) { return p.Run(ctx, 1) }},
	{"Submit", func(p *pool.Pool[int, int], ctx context.Context) (int, error) {
		f, err := p.Submit(ctx, 1)
		if err != nil {
			return 0, err
		}
		return f.Wait(bg)
	}},
}

func TestTaskContext(t *testing.T) {
	for _, sub := range submitters {
		t.Run(sub.name+": the task's ctx carries the caller's values and ends with the caller's ctx, cause included", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				started := make(chan context.Context, 1)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					require.Equal(t, "v", ctx.Value(ctxKey{}))
					require.NoError(t, ctx.Err())
					started <- ctx
					<-ctx.Done()
					return 0, context.Cause(ctx)
				}, pool.Options{MaxWorkers: 1})
				caller, cancel := context.WithCancelCause(context.WithValue(bg, ctxKey{}, "v"))
				errc := make(chan error, 1)
				go func() {
					_, err := sub.run(p, caller)
					errc <- err
				}()
				<-started
				why := errors.New("client left")
				cancel(why)
				err := <-errc
				// Run may return its ctx's error before the handler's, which
				// must carry the caller's cause.
				require.True(t, errors.Is(err, why) || sub.name == "Run" && errors.Is(err, context.Canceled), "got %v", err)
			})
		})
		t.Run(sub.name+": a ctx kept past the task's return is cancelled, whichever method looks first", func(t *testing.T) {
			looks := map[string]func(context.Context) error{
				"Err":   func(ctx context.Context) error { return ctx.Err() },
				"Done":  func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
				"Cause": context.Cause,
				"WithCancel": func(ctx context.Context) error {
					c, cancel := context.WithCancel(ctx)
					defer cancel()
					<-c.Done()
					return context.Cause(c)
				},
			}
			for name, look := range looks {
				kept := make(chan context.Context, 1)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					kept <- ctx
					return 1, nil
				}, pool.Options{MaxWorkers: 1})
				caller, cancel := context.WithCancel(bg)
				out, err := sub.run(p, caller)
				require.NoError(t, err)
				require.Equal(t, 1, out)
				ctx := <-kept
				require.ErrorIs(t, look(ctx), context.Canceled, name)
				require.ErrorIs(t, ctx.Err(), context.Canceled, name)
				require.NoError(t, caller.Err(), "the caller's own ctx lives on")
				cancel()
			}
		})
		t.Run(sub.name+": a kept ctx watched from another goroutine ends with its task", func(t *testing.T) {
			for range 200 {
				var wg sync.WaitGroup
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					wg.Go(func() { <-ctx.Done() })
					return 1, nil
				}, pool.Options{MaxWorkers: 2})
				caller, cancel := context.WithCancel(bg)
				_, err := sub.run(p, caller)
				require.NoError(t, err)
				wg.Wait() // hangs if the task's end missed a Done made concurrently
				cancel()
			}
		})
	}
}

func TestTaskContextUnderTaskTimeout(t *testing.T) {
	for _, sub := range submitters {
		t.Run(sub.name+": the task's deadline is the earlier of the caller's and TaskTimeout's", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				deadlines := make(chan time.Time, 1)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					d, ok := ctx.Deadline()
					require.True(t, ok)
					deadlines <- d
					return 1, nil
				}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Minute})
				late, cancel := context.WithTimeout(bg, time.Hour)
				defer cancel()
				_, err := sub.run(p, late)
				require.NoError(t, err)
				require.Equal(t, time.Now().Add(time.Minute), <-deadlines, "TaskTimeout's, from the start")
				early, cancel := context.WithTimeout(bg, time.Second)
				defer cancel()
				_, err = sub.run(p, early)
				require.NoError(t, err)
				d, _ := early.Deadline()
				require.Equal(t, d, <-deadlines, "the caller's")
			})
		})
		t.Run(sub.name+": a task that never looks at its ctx and fails past TaskTimeout timed out", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				kept := make(chan context.Context, 1)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					kept <- ctx
					time.Sleep(2 * time.Second)
					return 0, errors.New("gave up")
				}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Hour})
				caller, cancel := context.WithCancel(bg)
				defer cancel()
				_, err := sub.run(p, caller)
				require.ErrorIs(t, err, pool.ErrTimeout)
				ctx := <-kept
				require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "it ended at its deadline, not at its return")
				require.Equal(t, context.Cause(ctx).Error(), "context deadline exceeded (TaskTimeout)")
				require.EqualValues(t, 1, p.Stats().TimedOut)
			})
		})
		t.Run(sub.name+": a task that never looks at its ctx and succeeds past TaskTimeout completed, and its kept ctx reports DeadlineExceeded", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				kept := make(chan context.Context, 1)
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					kept <- ctx
					time.Sleep(2 * time.Second)
					return 7, nil
				}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Hour})
				caller, cancel := context.WithCancel(bg)
				defer cancel()
				out, err := sub.run(p, caller)
				require.NoError(t, err)
				require.Equal(t, 7, out)
				ctx := <-kept
				<-ctx.Done() // looked at first through Done, after the task returned
				require.ErrorIs(t, ctx.Err(), context.DeadlineExceeded, "it ended at its deadline, not at its return")
				require.Equal(t, "context deadline exceeded (TaskTimeout)", context.Cause(ctx).Error())
				st := p.Stats()
				require.EqualValues(t, 1, st.Completed)
				require.Zero(t, st.TimedOut)
			})
		})
		t.Run(sub.name+": a task that only polls Err sees TaskTimeout pass", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newPool(t, func(ctx context.Context, _ int) (int, error) {
					for range 2000 { // 2s: twice TaskTimeout
						if ctx.Err() != nil {
							return 0, ctx.Err()
						}
						time.Sleep(time.Millisecond)
					}
					return 1, nil
				}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second})
				caller, cancel := context.WithCancel(bg)
				defer cancel()
				start := time.Now()
				_, err := sub.run(p, caller)
				require.ErrorIs(t, err, pool.ErrTimeout)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				took := time.Since(start)
				require.GreaterOrEqual(t, took, time.Second)
				require.LessOrEqual(t, took, time.Second+time.Millisecond, "the next poll after the deadline sees it")
				require.EqualValues(t, 1, p.Stats().TimedOut)
			})
		})
	}
}
