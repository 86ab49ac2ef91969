package pool_test

// Regression tests for races found in review: each failed before its fix.

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// Regression: Reload hands the old slot's place in live to the fresh one
// (uncounted CAS + live-1); if the old slot's task is then declared hung,
// the watchdog decrements live again. Workers drifts to 0 while one worker
// is alive, and MaxWorkers is then exceeded.
func TestRegressionReloadThenHungDoubleDecrementsLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		gate := make(chan struct{})
		var running, peak atomic.Int32
		p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
			c := running.Add(1)
			defer running.Add(-1)
			for {
				old := peak.Load()
				if c <= old || peak.CompareAndSwap(old, c) {
					break
				}
			}
			if n == 0 {
				<-release // ignores ctx: will be declared hung
				return 0, nil
			}
			<-gate
			return n, nil
		}, pool.Options{MinWorkers: 1, MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second,
			Restart: pool.RestartPolicy{MaxRestarts: -1}})
		require.NoError(t, err)
		var gateOnce, relOnce atomic.Bool
		defer func() {
			if gateOnce.CompareAndSwap(false, true) {
				close(gate)
			}
			if relOnce.CompareAndSwap(false, true) {
				close(release)
			}
			p.Close(bg)
		}()
		hung, err := p.Submit(bg, 0)
		require.NoError(t, err)
		synctest.Wait()
		reloaded := make(chan error, 1)
		go func() { reloaded <- p.Reload(bg) }()
		synctest.Wait() // fresh slot built, old one halted and uncounted
		time.Sleep(3 * time.Second)
		synctest.Wait() // watchdog declared the old task hung
		require.NoError(t, <-reloaded)
		_, err = hung.Wait(bg)
		require.ErrorIs(t, err, pool.ErrTimeout)

		st := p.Stats()
		require.Equal(t, 1, st.Workers, "one live worker (the fresh one): %+v", st)

		f1, _ := p.Submit(bg, 1)
		f2, _ := p.Submit(bg, 2)
		synctest.Wait()
		// the hung goroutine is still in Handle: at most 1 + MaxWorkers run
		require.LessOrEqual(t, running.Load(), int32(2), "MaxWorkers=1 exceeded")
		gateOnce.Store(true)
		close(gate)
		f1.Wait(bg)
		f2.Wait(bg)
	})
}

// Regression: same double decrement, ordering reversed: the old slot leaves
// (here: because Close closed the queue) while Reload waits for the fresh
// worker; Reload's hand-over CAS on uncounted still succeeds and decrements
// live a second time.
func TestRegressionReloadHandOverAfterOldSlotExited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		build := make(chan struct{})
		var builds atomic.Int32
		p, err := pool.New(func(ctx context.Context, _ pool.WorkerInfo) (pool.Worker[int, int], error) {
			if builds.Add(1) == 2 {
				<-build // the fresh worker of the reload is slow to build
			}
			return pool.Func[int, int](func(context.Context, int) (int, error) { return 0, nil }), nil
		}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
		require.NoError(t, err)
		synctest.Wait()
		reloaded := make(chan error, 1)
		go func() { reloaded <- p.Reload(bg) }()
		synctest.Wait()
		closed := make(chan error, 1)
		go func() { closed <- p.Close(bg) }()
		synctest.Wait() // the old slot exited on the closed queue
		close(build)
		<-reloaded
		require.NoError(t, <-closed)
		require.Equal(t, 0, p.Stats().Workers, "no live worker after Close")
	})
}

// Regression: the hung task returns at the same instant the watchdog fires. If
// the slot's exit() runs between the watchdog's CAS to hungMark and its
// registering the slot in p.hung, the exited slot stays in p.hung for ever
// (phantom hung worker, stats folded twice); if exit() runs between the
// registration and the watchdog's settle, the TimedOut count is lost
// (s.stats was already folded into p.retired).
func TestRegressionWatchdogRacesExit(t *testing.T) {
	for i := range 300 {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
				time.Sleep(2 * time.Second) // ignores ctx; returns exactly when the watchdog fires
				return n, nil
			}, pool.Options{MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second})
			require.NoError(t, err)
			defer p.Close(bg)
			f, err := p.Submit(bg, 1)
			require.NoError(t, err)
			f.Wait(bg)
			time.Sleep(time.Second)
			synctest.Wait()
			st := p.Stats()
			require.Equal(t, uint64(1), st.Completed+st.TimedOut, "iteration %d: the task is counted once: %+v", i, st)
			require.Equal(t, 0, st.Hung, "iteration %d: the goroutine has returned: %+v", i, st)
			require.NoError(t, p.Close(bg), "iteration %d", i)
		})
	}
}

// Concurrent Close calls must wait on something synctest sees as durably
// blocking (a channel, not sync.Once's mutex), or fake time never advances
// and the first Close's timers never fire.
func TestRegressionConcurrentCloseInSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
			<-release // ignores ctx
			return n, nil
		}, pool.Options{MaxWorkers: 1, HungGrace: time.Second})
		require.NoError(t, err)
		_, err = p.Submit(bg, 1)
		require.NoError(t, err)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(bg, time.Second)
		defer cancel()
		errs := make(chan error, 2)
		go func() { errs <- p.Close(ctx) }()
		go func() { errs <- p.Close(ctx) }()
		require.ErrorIs(t, <-errs, context.DeadlineExceeded)
		require.ErrorIs(t, <-errs, context.DeadlineExceeded)
		close(release)
	})
}

// Regression: a slot whose factory keeps failing never exits on a graceful
// Close (build only looks at halt and s.stop), and with the default
// RestartPolicy the backoff cap keeps the pool below the intensity limit,
// so it never fails either: Close(ctx) cannot finish on an idle pool.
func TestRegressionCloseHangsWhileFactoryFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := pool.New(downAfterFirst(), pool.Options{MinWorkers: 1, MaxWorkers: 1, Restart: pool.RestartPolicy{MaxRestarts: -1}})
		require.NoError(t, err)
		_, err = p.Run(bg, 1)
		require.ErrorIs(t, err, errDown)
		time.Sleep(time.Minute)
		require.Equal(t, "open", p.Stats().State, "a policy without limits never gives up")
		ctx, cancel := context.WithTimeout(bg, time.Hour)
		defer cancel()
		// No task is queued or running: Close has nothing to drain.
		start := time.Now()
		err = p.Close(ctx)
		require.Less(t, time.Since(start), time.Minute, "Close of an idle pool")
		require.NoError(t, err)
	})
}

// Regression: tasks that Close (forced) or a pool failure resolve from the queue
// are not counted in Stats.Canceled (documented: "Close or failure
// canceled them"), so Submitted shrinks.
func TestRegressionStatsMissDrainedTasks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
			select {
			case <-gate:
			case <-ctx.Done():
			}
			return n, nil
		}, pool.Options{MaxWorkers: 1, QueueSize: 8})
		require.NoError(t, err)
		for i := range 4 {
			_, err := p.Submit(bg, i)
			require.NoError(t, err)
		}
		synctest.Wait()
		before := p.Stats().Submitted
		require.Equal(t, uint64(4), before)
		ctx, cancel := context.WithCancel(bg)
		cancel()
		err = p.Close(ctx)
		var ce *pool.CloseError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 3, ce.Canceled)
		st := p.Stats()
		require.Equal(t, uint64(3), st.Canceled, "%+v", st)
		require.Equal(t, uint64(4), st.Submitted, "%+v", st)
	})
}

// Regression: a hung worker is not replaced while the queue is empty, so the
// pool stays below MinWorkers ("built by New and kept even when idle").
func TestRegressionMinWorkersAfterHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
			if n == 0 {
				<-release
			}
			return n, nil
		}, pool.Options{MinWorkers: 2, MaxWorkers: 2, TaskTimeout: time.Second, HungGrace: time.Second})
		require.NoError(t, err)
		defer func() { close(release); p.Close(bg) }()
		_, err = p.Submit(bg, 0)
		require.NoError(t, err)
		time.Sleep(time.Hour)
		synctest.Wait()
		require.Equal(t, 2, p.Stats().Workers, "%+v", p.Stats())
	})
}

// Regression: Close returns while an exiting slot has not finished exit(): exit
// deletes the slot from p.slots (which lets another slot's checkDrained
// release Close) before it decrements live and calls maybeSpawn. Stats
// right after Close shows live workers, and the goroutine is still running.
func TestRegressionWorkersAfterClose(t *testing.T) {
	for i := range 1000 {
		p, _ := pool.NewFunc(func(context.Context, int) (int, error) { return 0, nil },
			pool.Options{MinWorkers: 4, MaxWorkers: 4})
		_ = p.Close(bg)
		if w := p.Stats().Workers; w != 0 {
			t.Fatalf("iteration %d: Workers = %d right after Close returned", i, w)
		}
	}
}

// Every task a pool accepted is resolved once a forced Close returns, with
// producers filling the queue (bounded or Unbounded) while it runs. A
// variant of this test found Close returning while a worker was being
// started (see TestCloseWaitsForAWorkerBeingStarted, which holds that window
// open on purpose; here it is hit only now and then).
func TestForcedCloseResolvesEveryAcceptedTask(t *testing.T) {
	for _, queue := range []int{pool.Unbounded, 2048} {
		for round := range 150 {
			var started atomic.Int32
			p, err := pool.NewFunc(func(ctx context.Context, _ int) (int, error) {
				started.Add(1)
				<-ctx.Done() // runs until the forced Close cancels it
				return 0, ctx.Err()
			}, pool.Options{MaxWorkers: 1, QueueSize: queue})
			require.NoError(t, err)
			var mu sync.Mutex
			var accepted []*pool.Future[int]
			var producers sync.WaitGroup
			for range 4 {
				producers.Go(func() {
					for i := 0; ; i++ {
						f, err := p.Submit(context.Background(), i)
						if err != nil {
							return
						}
						mu.Lock()
						accepted = append(accepted, f)
						mu.Unlock()
					}
				})
			}
			for p.Stats().Queued < 1100 {
				runtime.Gosched()
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a Close whose ctx has ended cancels what is left
			err = p.Close(ctx)
			producers.Wait()
			var closeErr *pool.CloseError
			require.ErrorAs(t, err, &closeErr, "queue %d, round %d: Close found nothing to cancel (%d tasks started)", queue, round, started.Load())
			// Queued tasks are resolved when Close returns; the running one
			// too, unless its worker had not left by HungGrace (slow under
			// -race): Close then names it, and it resolves when it returns.
			var late []*pool.Future[int]
			for _, f := range accepted {
				select {
				case <-f.Done():
				default:
					late = append(late, f)
				}
			}
			require.LessOrEqual(t, len(late), len(closeErr.Hung), "queue %d, round %d", queue, round)
			for _, f := range late {
				<-f.Done()
			}
		}
	}
}
