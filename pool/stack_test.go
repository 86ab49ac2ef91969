package pool_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/pool"
)

// TestParkedWorkerStack: an idle worker keeps the smallest goroutine stack
// (2 KiB), as a goroutine blocked in a plain channel receive does. A worker
// that parks deeper, or in a select, grows its stack to 4 KiB whenever the
// runtime allocates the record of its wait (a sudog) on that stack, which
// it does for most waiters after a GC has emptied its cache of them: with
// 50,000 workers, 100 MiB more.
func TestParkedWorkerStack(t *testing.T) {
	t.Run("parked workers take about 2 KiB of stack each", func(t *testing.T) {
		const workers = 2000
		defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no GC may shrink stacks meanwhile
		defer smallStarts()()
		before := stackInUse()
		p, err := pool.NewFunc(tinyFunc, pool.Options{MaxWorkers: workers, MinWorkers: workers})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(bg)) }()
		for p.Stats().Idle < workers {
			runtime.Gosched()
		}
		perWorker := float64(stackInUse()-before) / workers
		t.Logf("%.0f bytes of stack per parked worker", perWorker)
		require.Less(t, perWorker, maxParkedStack, "bytes of stack per parked worker")
	})
	t.Run("workers woken to take tasks from a full queue keep about 2 KiB of stack each", func(t *testing.T) {
		// Every task blocks, so each pop is made by a parked worker just
		// woken, and with a queue of one the producer is mostly asleep
		// waiting for room: the pop that frees its cell wakes it, from
		// where the worker slept. That wake is the deepest the worker's
		// stack goes outside a task.
		const workers = 2000
		defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no GC may shrink stacks meanwhile
		defer smallStarts()()
		// Stacks freed by earlier tests stay counted while the runtime
		// caches them: a GC returns them, so that every worker's stack is
		// counted below.
		runtime.GC()
		before := stackInUse()
		gate := make(chan struct{})
		var started atomic.Int64
		hold := func(context.Context, int) (struct{}, error) {
			started.Add(1)
			<-gate
			return struct{}{}, nil
		}
		p, err := pool.NewFunc(hold, pool.Options{MaxWorkers: workers, MinWorkers: workers, QueueSize: 1})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(bg)) }()
		defer close(gate)
		for p.Stats().Idle < workers {
			runtime.Gosched()
		}
		for i := range workers {
			require.NoError(t, p.Go(bg, i))
		}
		for started.Load() < workers {
			runtime.Gosched()
		}
		perWorker := float64(stackInUse()-before) / workers
		t.Logf("%.0f bytes of stack per worker", perWorker)
		require.Less(t, perWorker, maxParkedStack, "bytes of stack per worker")
	})
}

// smallStarts makes the runtime start new goroutines with 2 KiB stacks
// and empties its central cache of sudogs, and returns a function that
// undoes what it started. The runtime sizes new stacks by the average
// stack in use that the last GC scanned (GODEBUG adaptivestackstart),
// which a test process's own deep goroutines can push to 4 KiB: a GC that
// scans many goroutines blocked in a receive brings it down. They stay
// blocked until the returned function runs, so that the sudogs they hold
// do not go back to the cache.
func smallStarts() (release func()) {
	var wg sync.WaitGroup
	block := make(chan struct{})
	for range 10_000 {
		wg.Go(func() { <-block })
	}
	runtime.GC() // scans them, blocked or about to block: either way shallow
	return func() {
		close(block)
		wg.Wait()
	}
}

func stackInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}
