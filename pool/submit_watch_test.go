package pool_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// countingCtx ends with its parent and counts the callbacks registered on
// it with context.AfterFunc, and those neither stopped nor run yet. Its
// Done channel is its own, so that the context package does not take it
// for its parent and calls its AfterFunc method instead.
type countingCtx struct {
	context.Context
	done             chan struct{}
	end              func() // closes done, once
	registered, live atomic.Int32
}

func newCountingCtx(t *testing.T, parent context.Context) *countingCtx {
	c := &countingCtx{Context: parent, done: make(chan struct{})}
	c.end = sync.OnceFunc(func() { close(c.done) })
	stop := context.AfterFunc(parent, c.end)
	t.Cleanup(func() { stop() })
	return c
}

func (c *countingCtx) Done() <-chan struct{} { return c.done }

func (c *countingCtx) Err() error {
	select {
	case <-c.done:
		return c.Context.Err()
	default:
		return nil
	}
}

func (c *countingCtx) AfterFunc(f func()) func() bool {
	c.registered.Add(1)
	c.live.Add(1)
	var once sync.Once
	gone := func() { once.Do(func() { c.live.Add(-1) }) }
	// Done is closed before f runs, so that f finds Err set.
	stop := context.AfterFunc(c.Context, func() { c.end(); gone(); f() })
	return func() bool {
		stopped := stop()
		if stopped {
			gone()
		}
		return stopped
	}
}

func TestSubmitWatchesOnlyATaskStillQueued(t *testing.T) {
	t.Run("tasks that an idle worker ran before TrySubmit returned mostly register nothing on the caller's ctx", func(t *testing.T) {
		// On one processor, the worker that TrySubmit wakes runs when the
		// submitter yields; the scheduler sometimes runs the submitter
		// first, which then watches the task as before.
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		p := newPool(t, func(_ context.Context, n int) (int, error) { return n * n, nil },
			pool.Options{MaxWorkers: 1, MinWorkers: 1, NoInline: true})
		parent, cancel := context.WithCancel(bg)
		defer cancel()
		ctx := newCountingCtx(t, parent)
		const n = 100
		for i := range n {
			for p.Stats().Idle != 1 {
				runtime.Gosched() // the worker parks between tasks
			}
			f, err := p.TrySubmit(ctx, i)
			require.NoError(t, err)
			out, err := f.Wait(bg)
			require.NoError(t, err)
			require.Equal(t, i*i, out)
		}
		require.Less(t, ctx.registered.Load(), int32(n/4))
		require.Zero(t, ctx.live.Load())
	})

	t.Run("tasks queued behind a busy worker are watched: one whose ctx ends leaves at once, one that starts unregisters", func(t *testing.T) {
		g := newGate()
		p := newPool(t, g.task, pool.Options{MaxWorkers: 1})
		open := sync.OnceFunc(func() { close(g.open) })
		t.Cleanup(open) // before the pool's Close, which waits for the gated task
		busy, err := p.TrySubmit(bg, 1)
		require.NoError(t, err)
		<-g.entered
		parentA, cancelA := context.WithCancel(bg)
		ctxA := newCountingCtx(t, parentA)
		a, err := p.TrySubmit(ctxA, 2)
		require.NoError(t, err)
		parentB, cancelB := context.WithCancel(bg)
		defer cancelB()
		ctxB := newCountingCtx(t, parentB)
		b, err := p.TrySubmit(ctxB, 3)
		require.NoError(t, err)
		require.EqualValues(t, 1, ctxA.registered.Load())
		require.EqualValues(t, 1, ctxB.registered.Load())
		require.Equal(t, 2, p.Stats().Queued)

		cancelA()
		_, err = a.Wait(bg)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, p.Stats().Queued, "the abandoned task freed its place at once")

		open()
		_, err = busy.Wait(bg)
		require.NoError(t, err)
		out, err := b.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, 3, out)
		require.Zero(t, ctxB.live.Load(), "starting the task removed its callback from the caller's ctx")
		require.Equal(t, 3, <-g.entered)
		require.Empty(t, g.entered, "the abandoned task never ran")
	})
}
