package pool

import (
	"context"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// goexitWorker calls runtime.Goexit for a negative input (as t.FailNow or
// require does inside a handler) and echoes any other.
type goexitWorker struct{}

func (goexitWorker) Handle(_ context.Context, n int) (int, error) {
	if n < 0 {
		runtime.Goexit()
	}
	return n, nil
}

func goexitPool(t *testing.T, opts Options) *Pool[int, int] {
	p, err := New(func(context.Context, WorkerInfo) (Worker[int, int], error) { return goexitWorker{}, nil }, opts)
	require.NoError(t, err)
	makeWarm(p)
	return p
}

// A Handle that calls runtime.Goexit on a slot's goroutine (exec's short
// path, where serve's deferred function sees it as rescued(s, nil)) ends
// the goroutine and leaves its task unresolved: "every future resolves
// exactly once ... even when its worker crashes" does not hold, and a Run
// caller would wait forever.
func TestGoexitOnASlotResolvesTheTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := goexitPool(t, Options{MaxWorkers: 1, NoInline: true})
		defer func() { _ = p.Close(context.Background()) }()
		require.NoError(t, p.Go(context.Background(), 0)) // spend Seq 0 (sampled)
		synctest.Wait()
		f, err := p.Submit(context.Background(), -1) // Seq 1: short path
		require.NoError(t, err)
		synctest.Wait()
		select {
		case <-f.Done():
		default:
			require.Fail(t, "the task whose Handle called Goexit is never resolved")
		}
	})
}

// An inline Run whose Handle calls runtime.Goexit ends the caller's
// goroutine inside execLent; runLent never gives the worker back, so the
// slot stays lent forever and Close never returns.
func TestGoexitInAnInlineRunGivesTheWorkerBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := goexitPool(t, Options{MinWorkers: 1, MaxWorkers: 1})
		synctest.Wait()
		s := parkedSlot(p)
		go func() { _, _ = p.Run(context.Background(), -1) }() // inline: borrows s
		synctest.Wait()
		closed := make(chan error, 1)
		go func() { closed <- p.Close(context.Background()) }()
		synctest.Wait()
		stuck := len(closed) == 0
		if stuck { // unstick the slot so that the bubble can end
			p.giveBack(s)
		}
		<-closed
		require.False(t, stuck, "Close waits forever for a worker lent to a Run whose goroutine exited")
	})
}

// A Handle that calls runtime.Goexit on a slot's goroutine ends that
// goroutine; a new slot must take its place, or the pool would stay below
// MinWorkers (a panic, by contrast, keeps the slot, which rebuilds).
func TestGoexitOnASlotKeepsMinWorkers(t *testing.T) {
	for _, name := range []string{"short", "long"} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := Options{MinWorkers: 2, MaxWorkers: 2, NoInline: true, OnError: func(error) {}}
				if name == "long" {
					opts.TaskTimeout = time.Hour // every task takes execFull
				}
				p := goexitPool(t, opts)
				defer func() { _ = p.Close(context.Background()) }()
				synctest.Wait()
				require.Equal(t, 2, p.Stats().Workers)
				require.NoError(t, p.Go(context.Background(), 0)) // spend Seq 0 (sampled)
				synctest.Wait()
				f, err := p.Submit(context.Background(), -1)
				require.NoError(t, err)
				synctest.Wait()
				_, err = f.Wait(context.Background())
				require.ErrorContains(t, err, "Goexit")
				require.Equal(t, 2, p.Stats().Workers, "MinWorkers is 2")
			})
		})
	}
}
