package pool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestTaskContextSize(t *testing.T) {
	t.Run("a task's context takes 32 bytes, the allocation every Run with a cancellable ctx makes", func(t *testing.T) {
		require.Equal(t, uintptr(32), unsafe.Sizeof(taskCtx{}))
	})
}

// gatedParent is a context the context package does not know, so that a
// context built on it watches it from a goroutine of its own until one of
// them is cancelled. Its first n calls to Done wait for one another, so
// that n goroutines that build a context on it build at the same time.
type gatedParent struct {
	context.Context
	done    chan struct{}
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func newGatedParent(n int32) *gatedParent {
	return &gatedParent{Context: context.Background(), done: make(chan struct{}), n: n, all: make(chan struct{})}
}

func (g *gatedParent) Done() <-chan struct{} {
	if k := g.arrived.Add(1); k <= g.n {
		if k == g.n {
			close(g.all)
		}
		<-g.all
	}
	return g.done
}

func (g *gatedParent) Err() error {
	select {
	case <-g.done:
		return context.Canceled
	default:
		return nil
	}
}

func TestTaskContextMaterialisedAtOnce(t *testing.T) {
	t.Run("goroutines that build a context's real context together share one, and the others leak nothing", func(t *testing.T) {
		c := &core{}
		c.unbuilt.core = c
		before := goleak.IgnoreCurrent()
		const lookers = 4
		parent := newGatedParent(lookers)
		defer close(parent.done)
		tc := newTaskCtx(parent, c, 0)
		dones := make([]<-chan struct{}, lookers)
		var wg sync.WaitGroup
		for i := range lookers {
			wg.Go(func() { dones[i] = tc.Done() })
		}
		wg.Wait()
		for _, d := range dones[1:] {
			require.Equal(t, dones[0], d)
		}
		require.Same(t, c, tc.Value(poolKey{}))
		require.NoError(t, tc.Err())
		tc.finish(false)
		<-dones[0]
		require.ErrorIs(t, tc.Err(), context.Canceled)
		// Every real context built on the parent was cancelled: none
		// still watches it from a goroutine.
		goleak.VerifyNone(t, before)
	})
}
