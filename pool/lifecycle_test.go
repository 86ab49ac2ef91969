package pool_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// counter is a stateful worker: it counts its own tasks without locks, and
// records its closing.
type counter struct {
	id     int
	n      int
	closed *atomic.Int32
}

func (c *counter) Handle(ctx context.Context, delta int) (int, error) {
	c.n += delta
	return c.n, nil
}

func (c *counter) Close(context.Context) error {
	c.closed.Add(1)
	return nil
}

func TestWorkers(t *testing.T) {
	t.Run("New with no MinWorkers starts no goroutine", func(t *testing.T) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		p, err := pool.NewFunc(func(context.Context, int) (int, error) { return 0, nil }, pool.Options{})
		require.NoError(t, err)
		goleak.VerifyNone(t, goleak.IgnoreCurrent())
		require.NoError(t, p.Close(bg))
	})
	t.Run("each worker keeps private state and is closed when retired", func(t *testing.T) {
		var closed atomic.Int32
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
			return &counter{id: info.ID, closed: &closed}, nil
		}, pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		for i := 1; i <= 5; i++ {
			out, err := p.Run(bg, 1)
			require.NoError(t, err)
			require.Equal(t, i, out, "one worker sees every task in turn")
		}
		require.NoError(t, p.Close(bg))
		require.Equal(t, int32(1), closed.Load())
	})
	t.Run("MinWorkers are built at once and idle ones above it retire after one to two IdleTimeouts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGate()
			p := newPool(t, g.task, pool.Options{MinWorkers: 1, MaxWorkers: 3, IdleTimeout: time.Second})
			synctest.Wait()
			require.Equal(t, 1, p.Stats().Workers)
			fs := []*pool.Future[int]{submit(t, p, bg, 1), submit(t, p, bg, 2), submit(t, p, bg, 3)}
			for range fs {
				<-g.entered
			}
			require.Equal(t, 3, p.Stats().Workers)
			require.Equal(t, 3, p.Stats().Busy)
			close(g.open)
			for i, f := range fs {
				requireResult(t, f, i+1)
			}
			time.Sleep(999 * time.Millisecond)
			synctest.Wait()
			require.Equal(t, 3, p.Stats().Workers, "not idle long enough yet")
			time.Sleep(time.Second + time.Millisecond)
			synctest.Wait()
			require.Equal(t, 1, p.Stats().Workers, "the minimum stays")
			time.Sleep(time.Hour)
			synctest.Wait()
			require.Equal(t, 1, p.Stats().Workers)
		})
	})
	t.Run("dispatch is FIFO", func(t *testing.T) {
		p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
		first := submit(t, p, bg, 0)
		<-g.entered
		for i := 1; i <= 100; i++ {
			require.NoError(t, p.Go(bg, i))
		}
		close(g.open)
		requireResult(t, first, 0)
		require.NoError(t, p.Close(bg))
		got := order()
		require.Len(t, got, 100)
		for i, n := range got {
			require.Equal(t, i+1, n)
		}
	})
	t.Run("Resize grows and shrinks the pool", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGate()
			p := newPool(t, g.task, pool.Options{MaxWorkers: 1, QueueSize: 8})
			var fs []*pool.Future[int]
			for i := range 4 {
				fs = append(fs, submit(t, p, bg, i))
			}
			<-g.entered
			synctest.Wait()
			require.Equal(t, 1, p.Stats().Busy)
			require.NoError(t, p.Resize(4))
			synctest.Wait()
			require.Equal(t, 4, p.Stats().Busy)
			require.NoError(t, p.Resize(2))
			close(g.open)
			for i, f := range fs {
				requireResult(t, f, i)
			}
			synctest.Wait()
			require.LessOrEqual(t, p.Stats().Workers, 2)
			require.ErrorContains(t, p.Resize(0), "pool: Resize needs n >= 1, got 0")
		})
	})
	t.Run("a task may wait on its own pool without deadlock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var p *pool.Pool[int, int]
			p = newPool(t, func(ctx context.Context, depth int) (int, error) {
				if depth == 0 {
					return 1, nil
				}
				a, err := p.Submit(ctx, depth-1)
				if err != nil {
					return 0, err
				}
				b, err := p.Run(ctx, depth-1)
				if err != nil {
					return 0, err
				}
				av, err := a.Wait(ctx)
				return av + b, err
			}, pool.Options{MaxWorkers: 2, QueueSize: 1})
			out, err := p.Run(bg, 6)
			require.NoError(t, err)
			require.Equal(t, 64, out)
			require.NoError(t, p.Close(bg))
			require.Equal(t, 2, p.Stats().Max)
		})
	})
	t.Run("workers post messages to the owner", func(t *testing.T) {
		p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[string, int], error) {
			return pool.Func[string, int](func(ctx context.Context, s string) (int, error) {
				for i := range len(s) {
					require.NoError(t, info.Post(i))
				}
				return len(s), nil
			}), nil
		}, pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		n, err := p.Run(bg, "abc")
		require.NoError(t, err)
		require.Equal(t, 3, n)
		require.NoError(t, p.Close(bg))
		var got []any
		for m := range p.Messages().C() {
			require.Equal(t, 1, m.Worker)
			got = append(got, m.Body)
		}
		require.Equal(t, []any{0, 1, 2}, got)
	})
}

func TestNestedRunOnAFullPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tasks, err := pool.NewTasks(pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		defer tasks.Close(bg)
		err = tasks.Run(bg, func(ctx context.Context) error {
			return tasks.Run(ctx, func(context.Context) error { return nil })
		})
		require.NoError(t, err, "the only worker waits on its own pool without deadlock")
		f, err := tasks.TrySubmit(bg, func(ctx context.Context) error {
			inner, err := tasks.TrySubmit(ctx, func(context.Context) error { return errBoom })
			if err != nil {
				return err
			}
			_, err = inner.Wait(ctx)
			return err
		})
		require.NoError(t, err)
		_, err = f.Wait(bg)
		require.ErrorIs(t, err, errBoom)
	})
}

func TestUnboundedQueue(t *testing.T) {
	t.Run("an Unbounded queue accepts everything, in order, and Close drains it", func(t *testing.T) {
		p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: pool.Unbounded})
		first := submit(t, p, bg, 0)
		<-g.entered
		const n = 5000 // well past the buffer of DefaultQueueSize
		for i := 1; i <= n; i++ {
			require.NoError(t, p.TryGo(bg, i), "never ErrQueueFull")
		}
		st := p.Stats()
		require.Equal(t, n, st.Queued)
		require.Equal(t, pool.Unbounded, st.QueueCap)
		closed := make(chan error)
		go func() { closed <- p.Close(bg) }()
		close(g.open)
		requireResult(t, first, 0)
		require.NoError(t, <-closed)
		got := order()
		require.Len(t, got, n)
		for i, v := range got {
			require.Equal(t, i+1, v)
		}
	})
	t.Run("a forced Close resolves overflowed tasks with ErrClosed", func(t *testing.T) {
		g := newGate()
		p := newPool(t, g.task, pool.Options{MaxWorkers: 1, QueueSize: pool.Unbounded})
		running := submit(t, p, bg, 0)
		<-g.entered
		var fs []*pool.Future[int]
		for i := range 2000 {
			fs = append(fs, submit(t, p, bg, i))
		}
		ctx, cancel := context.WithCancel(bg)
		cancel()
		var ce *pool.CloseError
		require.ErrorAs(t, p.Close(ctx), &ce)
		require.Equal(t, 2000, ce.Canceled)
		_, err := running.Wait(bg)
		require.ErrorIs(t, err, context.Canceled)
		for _, f := range fs {
			_, err := f.Wait(bg)
			require.ErrorIs(t, err, pool.ErrClosed)
		}
	})
	t.Run("QueueSize below Unbounded is rejected", func(t *testing.T) {
		_, err := pool.NewFunc(func(context.Context, int) (int, error) { return 0, nil }, pool.Options{QueueSize: -2})
		require.EqualError(t, err, "pool: QueueSize must be >= 0 or Unbounded (-1), got -2")
	})
}

func TestStatsLatency(t *testing.T) {
	t.Run("a young pool times every task and reports percentiles", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newPool(t, func(_ context.Context, d time.Duration) (int, error) {
				time.Sleep(d)
				return 0, nil
			}, pool.Options{MaxWorkers: 1, QueueSize: 16})
			var fs []*pool.Future[int]
			for i := 1; i <= 10; i++ {
				fs = append(fs, submit(t, p, bg, time.Duration(i)*10*time.Millisecond))
			}
			for _, f := range fs {
				_, err := f.Wait(bg)
				require.NoError(t, err)
			}
			st := p.Stats()
			require.Equal(t, uint64(10), st.RunTime.Count)
			require.Equal(t, 100*time.Millisecond, st.RunTime.Max)
			require.InEpsilon(t, float64(50*time.Millisecond), float64(st.RunTime.P50), 0.13)
			require.Equal(t, 450*time.Millisecond, st.WaitTime.Max, "the last task waited for the nine before it")
			require.InDelta(t, 1.0, st.Utilization, 0.01, "the only worker was always busy")
		})
	})
	t.Run("a pool of many workers samples pool-wide, not per worker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const workers, batches = 64, 20
			p := newPool(t, func(_ context.Context, d time.Duration) (int, error) {
				time.Sleep(d)
				return 0, nil
			}, pool.Options{MaxWorkers: workers, QueueSize: workers})
			// Batches of one task per worker, each waited for, so that
			// every worker runs about batches tasks: far fewer than the
			// 256 after which sampling thins out.
			for b := range batches {
				var fs []*pool.Future[int]
				for i := range workers {
					d := time.Duration((b*workers+i)%10+1) * time.Millisecond
					fs = append(fs, submit(t, p, bg, d))
				}
				for _, f := range fs {
					_, err := f.Wait(bg)
					require.NoError(t, err)
				}
			}
			st := p.Stats()
			require.Equal(t, uint64(workers*batches), st.Completed)
			// 256 timed while the pool warms up, then about one in 32 of
			// the other 1024.
			require.GreaterOrEqual(t, st.RunTime.Count, uint64(256))
			require.LessOrEqual(t, st.RunTime.Count, uint64(256+1024/32*2))
			require.Equal(t, st.RunTime.Count, st.WaitTime.Count)
			// Run times are 1ms to 10ms, evenly: the percentiles of the
			// samples, merged from every worker's records, say so.
			require.Equal(t, 10*time.Millisecond, st.RunTime.Max)
			require.InEpsilon(t, float64(5500*time.Microsecond), float64(st.RunTime.Mean), 0.05)
			require.InEpsilon(t, float64(5*time.Millisecond), float64(st.RunTime.P50), 0.13)
			require.InEpsilon(t, float64(9*time.Millisecond), float64(st.RunTime.P90), 0.13)
			require.InEpsilon(t, float64(10*time.Millisecond), float64(st.RunTime.P99), 0.13)
		})
	})
}
