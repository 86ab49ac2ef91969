package pool_test

import (
	"context"
	"sync"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// closed reports whether c is closed, without waiting.
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// A future of Submit or TrySubmit makes its Done channel only when asked
// for it; these pin what Done and Wait promise either way.
func TestFutureDoneAndWait(t *testing.T) {
	t.Run("Done asked for while the task runs is closed when it ends", func(t *testing.T) {
		g := newGate()
		p := newPool(t, g.task, pool.Options{MaxWorkers: 1})
		f, err := p.TrySubmit(bg, 7)
		require.NoError(t, err)
		<-g.entered
		done := f.Done()
		require.False(t, closed(done))
		require.Equal(t, done, f.Done(), "every caller gets the same channel")
		close(g.open)
		<-done
		out, err := f.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, 7, out)
	})

	t.Run("Done asked for after the task ended is closed already", func(t *testing.T) {
		p := newPool(t, func(_ context.Context, n int) (int, error) { return n + 1, nil }, pool.Options{MaxWorkers: 1})
		f, err := p.Submit(bg, 1)
		require.NoError(t, err)
		out, err := f.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, 2, out)
		require.True(t, closed(f.Done()))
		out, err = f.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, 2, out, "a resolved future answers every Wait")
	})

	t.Run("every goroutine waiting on one future gets its result", func(t *testing.T) {
		g := newGate()
		p := newPool(t, g.task, pool.Options{MaxWorkers: 1})
		f, err := p.TrySubmit(bg, 5)
		require.NoError(t, err)
		<-g.entered
		const waiters = 8
		outs := make(chan int, waiters)
		var wg sync.WaitGroup
		var started sync.WaitGroup
		started.Add(waiters)
		for range waiters {
			wg.Go(func() {
				started.Done()
				out, err := f.Wait(bg)
				if err == nil {
					outs <- out
				}
			})
		}
		started.Wait()
		close(g.open)
		wg.Wait()
		close(outs)
		n := 0
		for out := range outs {
			require.Equal(t, 5, out)
			n++
		}
		require.Equal(t, waiters, n)
	})

	t.Run("Wait returns when its own ctx ends and the task goes on", func(t *testing.T) {
		g := newGate()
		p := newPool(t, g.task, pool.Options{MaxWorkers: 1})
		f, err := p.TrySubmit(bg, 3)
		require.NoError(t, err)
		<-g.entered
		ctx, cancel := context.WithCancel(bg)
		cancel()
		_, err = f.Wait(ctx)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, closed(f.Done()))
		close(g.open)
		out, err := f.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, 3, out)
	})
}
