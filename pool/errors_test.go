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

	"github.com/crewkit/crew/messaging"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// downAfterFirst returns a factory whose first worker fails its first task
// with a Fatal errDown, and whose every later build fails with errDown. New
// fails fast when it cannot build the first of MinWorkers, so this is how a
// test gets a started slot whose factory then keeps failing: run one task.
func downAfterFirst() pool.Factory[int, int] {
	var built atomic.Bool
	return func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
		if built.CompareAndSwap(false, true) {
			return pool.Func[int, int](func(context.Context, int) (int, error) { return 0, pool.Fatal(errDown) }), nil
		}
		return nil, errDown
	}
}

func TestNewFailsFast(t *testing.T) {
	t.Run("a factory that cannot build the first of MinWorkers fails New with its error", func(t *testing.T) {
		var calls atomic.Int32
		p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			calls.Add(1)
			return nil, errDown
		}, pool.Options{Name: "db", MinWorkers: 1})
		require.Nil(t, p)
		require.ErrorIs(t, err, errDown)
		require.EqualError(t, err, `pool "db": worker 1: factory: backend down`)
		require.Equal(t, int32(1), calls.Load(), "New does not retry")
	})
	t.Run("a factory that panics fails New with a PanicError", func(t *testing.T) {
		p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			panic("no config")
		}, pool.Options{MinWorkers: 2})
		require.Nil(t, p)
		var pe *pool.PanicError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "no config", pe.Value)
	})
	t.Run("a factory that returns a nil worker fails New", func(t *testing.T) {
		_, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			return nil, nil
		}, pool.Options{MinWorkers: 1})
		require.EqualError(t, err, "pool: worker 1: factory: factory returned a nil worker")
	})
	t.Run("the worker New built serves tasks and is not built twice", func(t *testing.T) {
		var ids []int
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
			ids = append(ids, info.ID) // MaxWorkers 1: builds never overlap
			return pool.Func[int, int](func(context.Context, int) (int, error) { return info.ID, nil }), nil
		}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
		require.NoError(t, err)
		out, err := p.Run(bg, 0)
		require.NoError(t, err)
		require.Equal(t, 1, out, "worker 1 runs the task")
		require.NoError(t, p.Close(bg))
		require.Equal(t, []int{1}, ids)
	})
	t.Run("with MinWorkers 0 New builds nothing and the factory's error comes with the first task", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
				calls.Add(1)
				return nil, errDown
			}, pool.Options{MaxWorkers: 1})
			require.NoError(t, err)
			require.Zero(t, calls.Load())
			_, err = p.Run(bg, 1)
			require.ErrorIs(t, err, pool.ErrPoolFailed)
			require.ErrorIs(t, err, errDown)
			require.NoError(t, p.Close(bg))
		})
	})
}

// requireWellFormed checks the rules every error text follows: it starts
// with its package's name, names it once, and fits on one line.
func requireWellFormed(t *testing.T, pkg, msg string) {
	t.Helper()
	require.NotContains(t, msg, "\n", "one line")
	require.True(t, strings.HasPrefix(msg, pkg+": ") || strings.HasPrefix(msg, pkg+` "`), "starts with %q: %s", pkg, msg)
	require.Equal(t, 1, strings.Count(msg, pkg+": ")+strings.Count(msg, pkg+` "`), "names %s once: %s", pkg, msg)
}

func TestErrorTexts(t *testing.T) {
	fn := func(context.Context, int) (int, error) { return 0, nil }
	cases := []struct {
		name string
		err  func(t *testing.T) error
		want string
		is   []error
	}{
		{"a negative count", func(*testing.T) error {
			_, err := pool.NewFunc(fn, pool.Options{MaxWorkers: -1})
			return err
		}, "pool: MaxWorkers must be >= 0, got -1", nil},
		{"a negative duration has its unit", func(*testing.T) error {
			_, err := pool.NewFunc(fn, pool.Options{TaskTimeout: -time.Second})
			return err
		}, "pool: TaskTimeout must be >= 0, got -1s", nil},
		{"a negative restart duration names its field and unit", func(*testing.T) error {
			_, err := pool.NewFunc(fn, pool.Options{Restart: pool.RestartPolicy{MaxBackoff: -time.Millisecond}})
			return err
		}, "pool: RestartPolicy.MaxBackoff must be >= 0, got -1ms", nil},
		{"a negative thread duration has its unit", func(*testing.T) error {
			_, err := pool.Spawn(func(context.Context, *messaging.Port[int], *messaging.Port[int]) error { return nil },
				pool.SpawnOptions{HungGrace: -2 * time.Second})
			return err
		}, "pool: HungGrace must be >= 0, got -2s", nil},
		{"a full queue of the default pool is the bare sentinel", func(t *testing.T) error {
			return fullQueue(t, "")
		}, "pool: queue full", []error{pool.ErrQueueFull}},
		{"a full queue of a named pool names it once", func(t *testing.T) error {
			return fullQueue(t, "thumbs")
		}, `pool "thumbs": queue full`, []error{pool.ErrQueueFull}},
		{"a closed pool", func(t *testing.T) error {
			p, err := pool.NewFunc(fn, pool.Options{Name: "thumbs"})
			require.NoError(t, err)
			require.NoError(t, p.Close(bg))
			_, err = p.Run(bg, 1)
			return err
		}, "pool: closed", []error{pool.ErrClosed}},
		{"a crash loop fails the pool on one line", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				p, e := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
					return nil, errDown
				}, pool.Options{Name: "db", MaxWorkers: 1})
				require.NoError(t, e)
				_, err = p.Run(bg, 1)
				require.NoError(t, p.Close(bg))
			})
			return err
		}, `pool "db": failed: crash loop: 8 failures in a row, past 10s of backoff: worker 8: factory: backend down`,
			[]error{pool.ErrPoolFailed, errDown}},
		{"the intensity limit fails the pool on one line", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				p, e := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
					return nil, errDown
				}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: 2, Period: time.Hour}})
				require.NoError(t, e)
				_, err = p.Run(bg, 1)
				require.NoError(t, p.Close(bg))
			})
			return err
		}, "pool: failed: more than 2 restarts in 1h0m0s: worker 3: factory: backend down",
			[]error{pool.ErrPoolFailed, errDown}},
		{"a task past its deadline", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				p, e := pool.NewFunc(func(ctx context.Context, _ int) (int, error) {
					<-ctx.Done()
					return 0, ctx.Err()
				}, pool.Options{TaskTimeout: time.Second})
				require.NoError(t, e)
				_, err = p.Run(bg, 1)
				require.NoError(t, p.Close(bg))
			})
			return err
		}, "pool: task timed out: context deadline exceeded", []error{pool.ErrTimeout, context.DeadlineExceeded}},
		{"a hung task", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				p, e := pool.NewFunc(func(context.Context, int) (int, error) {
					<-release
					return 0, nil
				}, pool.Options{Name: "stuck", TaskTimeout: time.Second, HungGrace: time.Second})
				require.NoError(t, e)
				_, err = p.Run(bg, 1)
				close(release)
				synctest.Wait() // the hung goroutine returns
				require.NoError(t, p.Close(bg))
			})
			return err
		}, `pool "stuck": worker 1 hung: task ignored cancellation for 2s: task timed out`, []error{pool.ErrTimeout}},
		{"a thread that failed", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				th, e := pool.Spawn(func(context.Context, *messaging.Port[int], *messaging.Port[int]) error {
					return errDown
				}, pool.SpawnOptions{Name: "feed"})
				require.NoError(t, e)
				<-th.Done()
				err = th.Err()
			})
			return err
		}, `pool: thread "feed": failed after 7 restarts: crash loop: 8 failures in a row, past 10s of backoff: backend down`,
			[]error{pool.ErrPoolFailed, errDown}},
		{"a Resize to nothing", func(*testing.T) error {
			p, err := pool.NewFunc(fn, pool.Options{})
			require.NoError(t, err)
			defer p.Close(bg)
			return p.Resize(0)
		}, "pool: Resize needs n >= 1, got 0", nil},
		{"a Handle that calls runtime.Goexit", func(t *testing.T) error {
			p, err := pool.NewFunc(func(context.Context, int) (int, error) {
				runtime.Goexit()
				return 0, nil
			}, pool.Options{Name: "exits", MaxWorkers: 1, NoInline: true})
			require.NoError(t, err)
			defer p.Close(bg)
			_, err = p.Run(bg, 1)
			return err
		}, `pool "exits": worker 1: Handle called runtime.Goexit`, nil},
		{"a reload that ran out of time", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				gate := make(chan struct{})
				var builds atomic.Int32
				p, e := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
					if builds.Add(1) > 1 {
						<-gate // the replacement is slow to build
					}
					return pool.Func[int, int](fn), nil
				}, pool.Options{Name: "img", MinWorkers: 1, MaxWorkers: 1})
				require.NoError(t, e)
				synctest.Wait()
				ctx, cancel := context.WithTimeout(bg, time.Second)
				defer cancel()
				err = p.Reload(ctx)
				close(gate)
				require.NoError(t, p.Close(bg))
			})
			return err
		}, `pool "img": reload: 0 of 1 workers replaced: context deadline exceeded`, []error{context.DeadlineExceeded}},
		{"a Close that gave up", func(t *testing.T) error {
			var err error
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				p, e := pool.NewFunc(func(context.Context, int) (int, error) {
					<-release // ignores its ctx
					return 0, nil
				}, pool.Options{MaxWorkers: 1, HungGrace: time.Second, OnError: func(error) {}})
				require.NoError(t, e)
				require.NoError(t, p.Go(bg, 1))
				require.NoError(t, p.Go(bg, 2))
				synctest.Wait()
				ctx, cancel := context.WithTimeout(bg, time.Second)
				defer cancel()
				err = p.Close(ctx)
			})
			return err
		}, "pool: close: context deadline exceeded: 1 queued task(s) canceled: 1 worker(s) ignored cancellation: pool worker 1",
			[]error{context.DeadlineExceeded}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err(t)
			require.EqualError(t, err, c.want)
			requireWellFormed(t, "pool", err.Error())
			for _, target := range c.is {
				require.ErrorIs(t, err, target)
			}
		})
	}
}

// fullQueue returns TrySubmit's error on a pool called name whose one
// worker is busy and whose one queue cell is taken.
func fullQueue(t *testing.T, name string) error {
	release := make(chan struct{})
	p, err := pool.NewFunc(func(context.Context, int) (int, error) {
		<-release
		return 0, nil
	}, pool.Options{Name: name, MaxWorkers: 1, QueueSize: 1, NoInline: true})
	require.NoError(t, err)
	defer func() {
		close(release)
		require.NoError(t, p.Close(bg))
	}()
	var last error
	for range 3 { // the worker takes one, the queue holds one
		_, last = p.TrySubmit(bg, 1)
		if errors.Is(last, pool.ErrQueueFull) {
			return last
		}
	}
	return last
}
