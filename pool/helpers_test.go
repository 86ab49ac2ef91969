package pool_test

import (
	"context"
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
