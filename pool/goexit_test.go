package pool_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// exiter calls runtime.Goexit for a negative input, as t.FailNow or a
// failed require does inside a handler, and echoes any other input.
type exiter struct{}

func (exiter) Handle(_ context.Context, n int) (int, error) {
	if n < 0 {
		runtime.Goexit()
	}
	return n, nil
}

// TestGoexitInHandleFailsTheTask runs a Handle that calls runtime.Goexit
// down each path of a young pool, where every task is timed (exec's long
// path; shortpath_internal_test.go covers the short one). The task must
// fail rather than never resolve, the worker must be replaced, and the pool
// must go on and close.
func TestGoexitInHandleFailsTheTask(t *testing.T) {
	cases := []struct {
		name string
		opts pool.Options
		// run submits n and returns its error; inline runs may end the
		// calling goroutine, so they run on one of their own.
		run func(p *pool.Pool[int, int], n int) error
	}{
		{"queued", pool.Options{NoInline: true}, func(p *pool.Pool[int, int], n int) error {
			f, err := p.Submit(bg, n)
			require.NoError(t, err)
			_, err = f.Wait(bg)
			return err
		}},
		{"with a cancellable ctx", pool.Options{NoInline: true}, func(p *pool.Pool[int, int], n int) error {
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			_, err := p.Run(ctx, n)
			return err
		}},
		{"with TaskTimeout", pool.Options{TaskTimeout: time.Hour}, func(p *pool.Pool[int, int], n int) error {
			_, err := p.Run(bg, n)
			return err
		}},
		{"inline", pool.Options{}, func(p *pool.Pool[int, int], n int) error {
			var err error
			ended := make(chan struct{})
			go func() {
				defer close(ended) // runs on Goexit too
				err = errExited
				_, err = p.Run(bg, n)
			}()
			<-ended
			return err
		}},
		{"inline TryRun with a cancellable ctx", pool.Options{}, func(p *pool.Pool[int, int], n int) error {
			var err error
			ended := make(chan struct{})
			go func() {
				defer close(ended) // runs on Goexit too
				ctx, cancel := context.WithCancel(bg)
				defer cancel()
				err = errExited
				_, err = p.TryRun(ctx, n)
			}()
			<-ended
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var built atomic.Int32
				opts := c.opts
				opts.MaxWorkers, opts.MinWorkers = 1, 1
				p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
					built.Add(1)
					return exiter{}, nil
				}, opts)
				require.NoError(t, err)
				synctest.Wait()

				err = c.run(p, -1)
				if strings.HasPrefix(c.name, "inline") {
					require.ErrorIs(t, err, errExited, "Goexit ends the caller's goroutine inside Run")
				} else {
					require.ErrorContains(t, err, "runtime.Goexit")
				}
				require.NoError(t, c.run(p, 5), "the pool goes on")
				require.NoError(t, p.Close(bg))
				st := p.Stats()
				require.EqualValues(t, 1, st.Failed, "the task that exited failed")
				require.EqualValues(t, 1, st.Completed)
				require.EqualValues(t, 2, built.Load(), "the worker that exited was replaced")
			})
		})
	}
}

var errExited = errors.New("the goroutine exited inside Run")
