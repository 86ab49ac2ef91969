package pool_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/messaging"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestClose(t *testing.T) {
	t.Run("Close is idempotent and concurrent calls share its result", func(t *testing.T) {
		p := newPool(t, func(context.Context, int) (int, error) { return 0, nil }, pool.Options{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { require.NoError(t, p.Close(bg)) })
		}
		wg.Wait()
		require.NoError(t, p.Close(bg))
		require.Equal(t, "closed", p.Stats().State)
	})
	t.Run("submitting while Close runs never panics and never loses a task", func(t *testing.T) {
		for range 20 {
			p := newPool(t, func(_ context.Context, n int) (int, error) { return n, nil }, pool.Options{MaxWorkers: 2, QueueSize: 4})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var futures []*pool.Future[int]
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						f, err := p.Submit(bg, g*100+i)
						if err != nil {
							require.ErrorIs(t, err, pool.ErrClosed)
							return
						}
						mu.Lock()
						futures = append(futures, f)
						mu.Unlock()
					}
				})
			}
			require.NoError(t, p.Close(bg))
			wg.Wait()
			for _, f := range futures {
				_, err := f.Wait(bg)
				require.NoError(t, err, "an accepted task was drained, not dropped")
			}
			require.Equal(t, uint64(len(futures)), p.Stats().Completed)
		}
	})
	t.Run("Close names the workers whose tasks ignore cancellation", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
				<-release // ignores ctx
				return n, nil
			}, pool.Options{Name: "stubborn", MaxWorkers: 1, HungGrace: time.Second})
			require.NoError(t, err)
			f := submit(t, p, bg, 1)
			synctest.Wait()
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			defer cancel()
			start := time.Now()
			err = p.Close(ctx)
			require.Equal(t, 3*time.Second, time.Since(start), "ctx, then HungGrace")
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Len(t, ce.Hung, 1)
			require.True(t, strings.HasPrefix(ce.Hung[0], "stubborn worker 1"), ce.Hung[0])
			require.Contains(t, err.Error(), "1 worker(s) ignored cancellation")
			close(release)
			requireResult(t, f, 1)
		})
	})
	t.Run("a forced Close cancels running tasks, whatever ctx they came with", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
				<-ctx.Done()
				return n, context.Cause(ctx)
			}, pool.Options{MaxWorkers: 3, HungGrace: time.Second})
			require.NoError(t, err)
			callerCtx, cancelCaller := context.WithCancel(bg) // never cancelled here
			defer cancelCaller()
			timed, cancelTimed := context.WithTimeout(bg, time.Hour)
			defer cancelTimed()
			futs := []*pool.Future[int]{submit(t, p, bg, 1), submit(t, p, callerCtx, 2), submit(t, p, timed, 3)}
			synctest.Wait()
			require.Equal(t, 3, p.Stats().Busy)
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			err = p.Close(ctx)
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.Empty(t, ce.Hung, "every task returned once cancelled")
			for _, f := range futs {
				_, err := f.Wait(bg)
				require.ErrorIs(t, err, pool.ErrClosed)
				require.ErrorIs(t, err, context.DeadlineExceeded, "the cause names Close's ctx")
			}
		})
	})
	t.Run("Messages is closed after the pool closes", func(t *testing.T) {
		p := newPool(t, func(context.Context, int) (int, error) { return 0, nil }, pool.Options{})
		require.NoError(t, p.Close(bg))
		_, err := p.Messages().Recv(bg)
		require.Error(t, err)
	})
}

// poolCtx is a caller's context whose Value consults the pool, as one that
// tags logs with the pool's load might: user code that the context package
// calls when a task's context is cancelled.
type poolCtx struct {
	context.Context
	p *atomic.Pointer[pool.Pool[int, int]]
}

func (c poolCtx) Value(k any) any {
	if p := c.p.Load(); p != nil {
		_ = p.Stats()
	}
	return c.Context.Value(k)
}

// A forced Close cancels running tasks with no lock of the pool held, so a
// caller's context may call back into the pool; found by review (the first
// version cancelled under the pool's lock and deadlocked here).
func TestForcedCloseCancelsWithNoPoolLockHeld(t *testing.T) {
	var pp atomic.Pointer[pool.Pool[int, int]]
	started := make(chan struct{})
	p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
		close(started)
		<-ctx.Done()
		return n, context.Cause(ctx)
	}, pool.Options{MaxWorkers: 1, HungGrace: time.Second})
	require.NoError(t, err)
	caller, cancelCaller := context.WithCancel(bg)
	defer cancelCaller()
	f, err := p.Submit(poolCtx{caller, &pp}, 1)
	require.NoError(t, err)
	<-started
	pp.Store(p)
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, time.Millisecond)
		defer cancel()
		closed <- p.Close(ctx)
	}()
	select {
	case err := <-closed:
		var ce *pool.CloseError
		require.ErrorAs(t, err, &ce)
		require.Empty(t, ce.Hung)
	case <-time.After(30 * time.Second): // a failure bound, not synchronisation
		t.Fatal("forced Close deadlocked cancelling a task whose ctx calls into the pool")
	}
	_, err = f.Wait(bg)
	require.ErrorIs(t, err, pool.ErrClosed)
}

// Whichever way a task came in (Submit, TrySubmit, Go or Run with a
// cancellable ctx, with or without TaskTimeout), a forced Close cancels it
// and no worker is left running; written by review.
func TestForcedCloseCancelsEveryRunningTask(t *testing.T) {
	for round := range 200 {
		for _, timeout := range []time.Duration{0, time.Hour} {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var errs []error
				record := func(err error) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
					<-ctx.Done()
					return n, context.Cause(ctx)
				}, pool.Options{MaxWorkers: 1 + round%4, HungGrace: time.Second, TaskTimeout: timeout, OnError: record})
				require.NoError(t, err)
				caller, cancelCaller := context.WithCancel(bg)
				defer cancelCaller()
				var wg sync.WaitGroup
				var futs []*pool.Future[int]
				for g := range 6 {
					wg.Go(func() {
						for i := range 5 {
							switch (g + i) % 4 {
							case 0, 1:
								submitFn := p.Submit
								if (g+i)%4 == 1 {
									submitFn = p.TrySubmit
								}
								if f, err := submitFn(caller, i); err == nil {
									mu.Lock()
									futs = append(futs, f)
									mu.Unlock()
								}
							case 2:
								_ = p.Go(caller, i)
							case 3:
								if _, err := p.Run(caller, i); err != nil {
									record(err)
								}
							}
						}
					})
				}
				if round%2 == 0 {
					synctest.Wait()
				}
				ctx, cancel := context.WithTimeout(bg, time.Duration(round%3)*time.Millisecond)
				defer cancel()
				err = p.Close(ctx)
				var ce *pool.CloseError
				if errors.As(err, &ce) {
					require.Empty(t, ce.Hung, "round %d, TaskTimeout %v", round, timeout)
				}
				wg.Wait()
				for _, f := range futs {
					if _, err := f.Wait(bg); err != nil {
						record(err)
					}
				}
				for _, err := range errs {
					require.ErrorIs(t, err, pool.ErrClosed, "round %d, TaskTimeout %v", round, timeout)
				}
			})
		}
	}
}

// TestCloseDuringBackoff puts a slot of each pool kind in a backoff of an
// hour, with nothing queued, and closes: Close must not wait for the
// backoff (virtual time does not move), and Stop must not wait for a
// thread's either.
func TestCloseDuringBackoff(t *testing.T) {
	long := pool.RestartPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour, Jitter: 1e-9, Period: 24 * time.Hour}
	// exitInline runs fn inline on a goroutine of its own, which Goexit ends.
	exitInline := func(fn func()) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			fn()
		}()
		<-done
	}
	cases := []struct {
		name string
		// crash makes the pool's only slot fail twice, then returns the
		// pool's Close.
		crash func(t *testing.T, opts pool.Options) func(context.Context) error
	}{
		{"New, after two panics", func(t *testing.T, opts pool.Options) func(context.Context) error {
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				return panicky{}, nil
			}, opts)
			require.NoError(t, err)
			for range 2 {
				_, err := p.Run(bg, 1)
				require.ErrorAs(t, err, new(*pool.PanicError))
			}
			return p.Close
		}},
		{"New, with a factory failing after its first worker", func(t *testing.T, opts pool.Options) func(context.Context) error {
			opts.MinWorkers = 1
			p, err := pool.New(downAfterFirst(), opts)
			require.NoError(t, err)
			_, err = p.Run(bg, 1)
			require.ErrorIs(t, err, errDown)
			return p.Close
		}},
		{"NewFunc, after two inline Goexits", func(t *testing.T, opts pool.Options) func(context.Context) error {
			opts.MinWorkers = 1
			p, err := pool.NewFunc(exiter{}.Handle, opts)
			require.NoError(t, err)
			for range 2 {
				synctest.Wait()
				exitInline(func() { _, _ = p.Run(bg, -1) })
			}
			return p.Close
		}},
		{"NewTasks, after two inline Goexits", func(t *testing.T, opts pool.Options) func(context.Context) error {
			opts.MinWorkers = 1
			p, err := pool.NewTasks(opts)
			require.NoError(t, err)
			for range 2 {
				synctest.Wait()
				exitInline(func() { _ = p.Run(bg, func(context.Context) error { runtime.Goexit(); return nil }) })
			}
			return p.Close
		}},
		{"Spawn, after two crashes", func(t *testing.T, _ pool.Options) func(context.Context) error {
			th, err := pool.Spawn(func(context.Context, *messaging.Port[int], *messaging.Port[int]) error {
				return errDown
			}, pool.SpawnOptions{Restart: long})
			require.NoError(t, err)
			return th.Stop
		}},
	}
	for _, c := range cases {
		t.Run("Close returns at once while a slot waits a backoff: "+c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec recorder
				closeFn := c.crash(t, pool.Options{MaxWorkers: 1, Restart: long, OnEvent: rec.hook})
				synctest.Wait()
				if !strings.HasPrefix(c.name, "Spawn") {
					backoffs := rec.kinds(pool.WorkerBackoff)
					require.NotEmpty(t, backoffs, "the slot waits a backoff")
					require.InDelta(t, float64(time.Hour), float64(backoffs[len(backoffs)-1].Delay), float64(time.Millisecond))
				}
				start := time.Now()
				require.NoError(t, closeFn(bg))
				require.Zero(t, time.Since(start), "Close waited for the backoff")
			})
		})
	}
}
