package pool_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

// newPool builds a function pool and closes it when the test ends.
func newPool[In, Out any](t testing.TB, fn func(context.Context, In) (Out, error), opts pool.Options) *pool.Pool[In, Out] {
	t.Helper()
	p, err := pool.NewFunc(fn, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(bg) })
	return p
}

// gate blocks tasks until it is opened, and counts the tasks that entered.
type gate struct {
	entered chan int
	open    chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan int, 1024), open: make(chan struct{})} }

// task returns a pool function that announces itself, then waits for the
// gate or its ctx.
func (g *gate) task(ctx context.Context, n int) (int, error) {
	g.entered <- n
	select {
	case <-g.open:
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// orderPool returns a pool whose task 0 waits on the gate and whose other
// tasks record their input, and a function that returns the recorded order.
func orderPool(t *testing.T, opts pool.Options) (*pool.Pool[int, int], *gate, func() []int) {
	var mu sync.Mutex
	var order []int
	g := newGate()
	p := newPool(t, func(ctx context.Context, n int) (int, error) {
		if n == 0 {
			return g.task(ctx, n)
		}
		mu.Lock()
		order = append(order, n)
		mu.Unlock()
		return n, nil
	}, opts)
	return p, g, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(order)
	}
}
