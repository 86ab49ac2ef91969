package pool_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// A task whose caller's ctx ends while it is queued leaves at once: its
// future resolves, its place in the queue is free for the next task, and it
// never runs.
func TestAbandonedTasksLeaveTheQueueAtOnce(t *testing.T) {
	t.Run("a Submit future resolves and frees its place", func(t *testing.T) {
		p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: 2})
		_, err := p.Submit(bg, 0)
		require.NoError(t, err)
		<-g.entered // the only worker is busy
		ctx, cancel := context.WithCancel(bg)
		gone, err := p.TrySubmit(ctx, 1)
		require.NoError(t, err)
		kept, err := p.TrySubmit(bg, 2)
		require.NoError(t, err)
		_, err = p.TrySubmit(bg, 3)
		require.ErrorIs(t, err, pool.ErrQueueFull)

		cancel()
		<-gone.Done()
		_, err = gone.Wait(bg)
		require.ErrorIs(t, err, context.Canceled)
		st := p.Stats()
		require.Equal(t, 1, st.Queued)
		require.Equal(t, uint64(1), st.Canceled)

		late, err := p.TrySubmit(bg, 4) // the abandoned task's place
		require.NoError(t, err)
		_, err = p.TrySubmit(bg, 5)
		require.ErrorIs(t, err, pool.ErrQueueFull, "the bound still holds")

		close(g.open)
		for _, f := range []*pool.Future[int]{kept, late} {
			_, err := f.Wait(bg)
			require.NoError(t, err)
		}
		require.Equal(t, []int{2, 4}, order(), "the abandoned task never ran; FIFO kept")
		require.NoError(t, p.Close(bg))
		st = p.Stats()
		require.Equal(t, 0, st.Queued)
		require.Equal(t, uint64(1), st.Canceled)
		require.Equal(t, uint64(3), st.Completed)
	})

	for name, run := range map[string]func(*pool.Pool[int, int], context.Context, int) (int, error){
		"Run": (*pool.Pool[int, int]).Run, "TryRun": (*pool.Pool[int, int]).TryRun,
	} {
		t.Run("a "+name+" returns and frees its place", func(t *testing.T) {
			abandonRun(t, run)
		})
	}

	t.Run("a Go task is reported to OnError at once", func(t *testing.T) {
		reported := make(chan error, 1)
		p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: 1,
			OnError: func(err error) { reported <- err }})
		_, err := p.Submit(bg, 0)
		require.NoError(t, err)
		<-g.entered
		ctx, cancel := context.WithCancel(bg)
		require.NoError(t, p.TryGo(ctx, 1))
		cancel()
		require.ErrorIs(t, <-reported, context.Canceled)
		require.NoError(t, p.TryGo(bg, 2))
		close(g.open)
		require.NoError(t, p.Close(bg))
		require.Equal(t, []int{2}, order())
	})

	t.Run("a Submit waiting for room gets in once a task is abandoned", func(t *testing.T) {
		p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: 1})
		_, err := p.Submit(bg, 0)
		require.NoError(t, err)
		<-g.entered
		ctx, cancel := context.WithCancel(bg)
		_, err = p.TrySubmit(ctx, 1)
		require.NoError(t, err)
		cancel()
		for p.Stats().Queued != 0 {
			runtime.Gosched()
		}
		f, err := p.Submit(bg, 2) // finds the place free without waiting
		require.NoError(t, err)
		close(g.open)
		_, err = f.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, []int{2}, order())
	})

	t.Run("Close drains abandoned tasks without counting them twice", func(t *testing.T) {
		p, g, _ := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: 4})
		_, err := p.Submit(bg, 0)
		require.NoError(t, err)
		<-g.entered
		ctx, cancel := context.WithCancel(bg)
		var futs []*pool.Future[int]
		for i := range 4 {
			c := bg
			if i%2 == 0 {
				c = ctx
			}
			f, err := p.TrySubmit(c, i+1)
			require.NoError(t, err)
			futs = append(futs, f)
		}
		cancel()
		for _, i := range []int{0, 2} {
			<-futs[i].Done()
		}
		closed, stop := context.WithCancel(bg)
		stop() // force: the queued tasks are canceled, the running one released
		err = p.Close(closed)
		var ce *pool.CloseError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 2, ce.Canceled, "only the two live queued tasks")
		for _, i := range []int{1, 3} {
			_, err := futs[i].Wait(bg)
			require.ErrorIs(t, err, pool.ErrClosed)
		}
		st := p.Stats()
		require.Equal(t, 0, st.Queued)
		require.Equal(t, uint64(4), st.Canceled, "2 abandoned, 2 drained")
		require.Equal(t, uint64(1), st.Failed, "the running task returned its ctx error")
	})
}

// Callers who keep giving up cannot grow a bounded queue: abandoned tasks
// free their place, and the cells they still take are reused.
func TestAbandonChurnKeepsTheBound(t *testing.T) {
	const size = 4
	p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: size})
	_, err := p.Submit(bg, 0)
	require.NoError(t, err)
	<-g.entered
	for i := range 10_000 {
		ctx, cancel := context.WithCancel(bg)
		f, err := p.TrySubmit(ctx, -1)
		require.NoError(t, err, "round %d", i)
		cancel()
		<-f.Done()
	}
	var live []*pool.Future[int]
	for i := range size {
		f, err := p.TrySubmit(bg, i+1)
		require.NoError(t, err)
		live = append(live, f)
	}
	_, err = p.TrySubmit(bg, 99)
	require.ErrorIs(t, err, pool.ErrQueueFull)
	require.LessOrEqual(t, pool.Cells(p), 3*size, "abandoned tasks pruned")
	close(g.open)
	for _, f := range live {
		_, err := f.Wait(bg)
		require.NoError(t, err)
	}
	require.Equal(t, []int{1, 2, 3, 4}, order())
	require.NoError(t, p.Close(bg))
	require.Zero(t, pool.Gone(p))
}

// Every task resolves exactly once when callers give up at random while
// workers run: a task runs only if its caller did not abandon it first, and
// the books balance once the pool is closed.
func TestAbandonStress(t *testing.T) {
	var ran atomic.Int64
	p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
		ran.Add(1)
		return n, nil
	}, pool.Options{MaxWorkers: 2, QueueSize: 8})
	require.NoError(t, err)
	const producers, each = 4, 2000
	var wg sync.WaitGroup
	var ok, abandoned, full atomic.Int64
	for w := range producers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range each {
				ctx, cancel := context.WithCancel(bg)
				var err error
				switch r.IntN(3) {
				case 0:
					if r.IntN(2) == 0 {
						cancel() // Run queues it, then gives up at once
					}
					_, err = p.Run(ctx, i)
				default:
					var f *pool.Future[int]
					f, err = p.TrySubmit(ctx, i)
					if errors.Is(err, pool.ErrQueueFull) {
						full.Add(1)
						cancel()
						continue
					}
					require.NoError(t, err)
					if r.IntN(2) == 0 {
						cancel()
					}
					_, err = f.Wait(bg)
				}
				cancel()
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, context.Canceled):
					abandoned.Add(1)
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Close(bg))
	st := p.Stats()
	require.Equal(t, int64(producers*each), ok.Load()+abandoned.Load()+full.Load())
	require.Equal(t, uint64(ok.Load()), st.Completed)
	require.Equal(t, ok.Load(), ran.Load(), "no abandoned task ran")
	require.Equal(t, uint64(abandoned.Load()), st.Canceled)
	require.Equal(t, 0, st.Queued)
	require.Zero(t, pool.Gone(p))
}

// abandonRun checks that a Run-like call whose ctx ends while its task is
// queued returns at once, frees its place and never runs the task.
func abandonRun(t *testing.T, run func(*pool.Pool[int, int], context.Context, int) (int, error)) {
	p, g, order := orderPool(t, pool.Options{MaxWorkers: 1, QueueSize: 1})
	_, err := p.Submit(bg, 0)
	require.NoError(t, err)
	<-g.entered
	ctx, cancel := context.WithCancel(bg)
	ran := make(chan error, 1)
	go func() {
		_, err := run(p, ctx, 1)
		ran <- err
	}()
	for p.Stats().Queued != 1 {
		runtime.Gosched()
	}
	_, err = p.TrySubmit(bg, 2)
	require.ErrorIs(t, err, pool.ErrQueueFull)
	cancel()
	require.ErrorIs(t, <-ran, context.Canceled)
	require.Equal(t, 0, p.Stats().Queued)
	f, err := p.TrySubmit(bg, 3)
	require.NoError(t, err)
	close(g.open)
	_, err = f.Wait(bg)
	require.NoError(t, err)
	require.Equal(t, []int{3}, order())
}
