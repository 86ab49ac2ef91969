package pool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goid returns the calling goroutine's ID, read from its stack header, so
// that a test can tell whether a task ran on the caller's goroutine.
func goid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	id, err := strconv.ParseUint(strings.Fields(string(buf[:n]))[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return id
}

// where is a task's answer: the worker that ran it and the goroutine it ran on.
type where struct{ worker, goroutine int }

// whereWorker is a stateful worker that reports where it ran, panics on
// input -1, blocks on gate for input 1 (if gate is set), and fails any task
// that enters while another of its tasks runs: a worker must never be used
// by two goroutines at once.
type whereWorker struct {
	id    int
	inUse atomic.Bool
	gate  *gate
}

func (w *whereWorker) Handle(ctx context.Context, n int) (where, error) {
	if !w.inUse.CompareAndSwap(false, true) {
		return where{}, fmt.Errorf("worker %d entered twice", w.id)
	}
	defer w.inUse.Store(false)
	switch {
	case n == -1:
		panic("boom")
	case n == 1 && w.gate != nil:
		if _, err := w.gate.task(ctx, n); err != nil {
			return where{}, err
		}
	}
	runtime.Gosched() // give an overlapping caller the chance to enter
	return where{w.id, int(goid())}, nil
}

// wherePool returns a pool of whereWorkers and the number of workers built.
func wherePool(t *testing.T, g *gate, opts pool.Options) (*pool.Pool[int, where], *atomic.Int32) {
	t.Helper()
	var built atomic.Int32
	p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, where], error) {
		built.Add(1)
		return &whereWorker{id: info.ID, gate: g}, nil
	}, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(bg) })
	return p, &built
}

// runResult is the outcome of a Run started by holdWorker.
type runResult struct {
	where
	err error
}

// holdWorker starts Run(bg, 1) on a goroutine of its own, where the task
// holds its worker at g until the gate opens, and returns once the task
// has entered; the Run's outcome arrives on the channel.
func holdWorker(p *pool.Pool[int, where], g *gate) <-chan runResult {
	c := make(chan runResult, 1)
	go func() {
		got, err := p.Run(bg, 1)
		c <- runResult{got, err}
	}()
	<-g.entered
	return c
}

func TestRunInline(t *testing.T) {
	run, tryRun := (*pool.Pool[int, where]).Run, (*pool.Pool[int, where]).TryRun
	for _, tc := range []struct {
		name        string
		call        func(*pool.Pool[int, where], context.Context, int) (where, error)
		opts        pool.Options
		cancellable bool
		inline      bool
	}{
		{"a caller that cannot be cancelled borrows the idle worker", run, pool.Options{}, false, true},
		{"NoInline keeps the task on the worker's goroutine", run, pool.Options{NoInline: true}, false, false},
		{"a Run that can be cancelled waits for the worker, to return when its ctx ends", run, pool.Options{}, true, false},
		{"a TryRun that can be cancelled borrows the idle worker, since it waits for the task anyway", tryRun, pool.Options{}, true, true},
		{"NoInline keeps a TryRun's task on the worker's goroutine", tryRun, pool.Options{NoInline: true}, true, false},
		{"TaskTimeout keeps the task where the watchdog can abandon it", run, pool.Options{TaskTimeout: time.Hour}, false, false},
		{"TaskTimeout keeps a TryRun's task there too", tryRun, pool.Options{TaskTimeout: time.Hour}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := bg
				if tc.cancellable {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(bg)
					defer cancel()
				}
				tc.opts.MinWorkers, tc.opts.MaxWorkers = 1, 1
				p, _ := wherePool(t, nil, tc.opts)
				synctest.Wait() // the worker is built and parked
				for range 3 {
					got, err := tc.call(p, ctx, 0)
					require.NoError(t, err)
					require.Equal(t, 1, got.worker, "always the one worker")
					require.Equal(t, tc.inline, got.goroutine == int(goid()))
					synctest.Wait()
				}
				require.Equal(t, uint64(3), p.Stats().Completed)
			})
		})
	}
}

// TestTryRunWaitsForItsTask covers a TryRun whose ctx can end while its task
// runs, on the caller's goroutine or on the worker's: the task sees its ctx
// end with the caller's, cause included, and TryRun returns the task's
// outcome once it returns; a ctx that ended before TryRun means the task
// never runs. Run, by contrast, returns when its ctx ends.
func TestTryRunWaitsForItsTask(t *testing.T) {
	t.Run("the task's ctx ends with the caller's and TryRun returns the task's outcome", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			entered := make(chan uint64, 1)
			p := newPool(t, func(ctx context.Context, _ int) (int, error) {
				entered <- goid()
				<-ctx.Done()
				return 0, context.Cause(ctx)
			}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
			synctest.Wait() // the worker is built and parked
			why := errors.New("client left")
			ctx, cancel := context.WithCancelCause(bg)
			type outcome struct {
				err    error
				inline bool
			}
			done := make(chan outcome, 1)
			go func() {
				_, err := p.TryRun(ctx, 1)
				done <- outcome{err, <-entered == goid()}
			}()
			synctest.Wait()
			require.Empty(t, done, "TryRun returned while its task ran")
			cancel(why)
			got := <-done
			require.True(t, got.inline, "the task ran on its caller's goroutine")
			require.ErrorIs(t, got.err, why, "TryRun returns the task's own error")
			st := p.Stats()
			require.EqualValues(t, 1, st.Failed)
			require.Zero(t, st.Busy, "the worker is back")
		})
	})
	t.Run("a caller whose ctx ended before TryRun gets its error and the task never runs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var ran atomic.Int32
			p := newPool(t, func(context.Context, int) (int, error) {
				ran.Add(1)
				return 1, nil
			}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
			synctest.Wait()
			ctx, cancel := context.WithCancel(bg)
			cancel()
			_, err := p.TryRun(ctx, 1)
			require.ErrorIs(t, err, context.Canceled)
			require.Zero(t, ran.Load(), "the task ran for a caller already gone")
			require.EqualValues(t, 1, p.Stats().Canceled)
			out, err := p.Run(bg, 1)
			require.NoError(t, err, "the worker was given back")
			require.Equal(t, 1, out)
		})
	})
}

// TestCallerLeavesARunningTask covers a caller whose ctx ends while its task,
// which ignores its ctx, runs on the worker's goroutine: Run returns at once,
// TryRun when the task is over.
func TestCallerLeavesARunningTask(t *testing.T) {
	for _, tc := range []struct {
		name    string
		call    func(*pool.Pool[int, int], context.Context, int) (int, error)
		opts    pool.Options
		waits   bool
		wantErr error
	}{
		{"Run returns ctx's error at once", (*pool.Pool[int, int]).Run, pool.Options{}, false, context.Canceled},
		{"TryRun waits for the task and returns its result", (*pool.Pool[int, int]).TryRun, pool.Options{NoInline: true}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				entered, release := make(chan struct{}), make(chan struct{})
				tc.opts.MinWorkers, tc.opts.MaxWorkers = 1, 1
				p := newPool(t, func(context.Context, int) (int, error) {
					close(entered)
					<-release // ignores its ctx
					return 7, nil
				}, tc.opts)
				synctest.Wait()
				ctx, cancel := context.WithCancel(bg)
				type result struct {
					out int
					err error
				}
				done := make(chan result, 1)
				go func() {
					out, err := tc.call(p, ctx, 1)
					done <- result{out, err}
				}()
				<-entered
				cancel()
				synctest.Wait()
				if tc.waits {
					require.Empty(t, done, "the caller returned while its task ran")
					close(release)
					got := <-done
					require.NoError(t, got.err)
					require.Equal(t, 7, got.out)
				} else {
					got := <-done
					require.ErrorIs(t, got.err, tc.wantErr)
					require.Equal(t, 1, p.Stats().Busy, "the task still runs")
					close(release)
				}
			})
		})
	}
	t.Run("TryRun on a pool with a TaskTimeout returns when the pool gives the task up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p, err := pool.NewFunc(func(context.Context, int) (int, error) {
				<-release // ignores its ctx
				return 7, nil
			}, pool.Options{MinWorkers: 1, MaxWorkers: 1, TaskTimeout: time.Second, HungGrace: time.Second})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			start := time.Now()
			go func() { time.Sleep(100 * time.Millisecond); cancel() }()
			_, err = p.TryRun(ctx, 1)
			require.ErrorIs(t, err, pool.ErrTimeout)
			require.Equal(t, 2*time.Second, time.Since(start), "at TaskTimeout plus HungGrace, not when ctx ended")
			close(release)
			synctest.Wait() // the abandoned task returns
			require.NoError(t, p.Close(bg))
		})
	})
}

func TestInlineRunIsCountedBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		p, _ := wherePool(t, g, pool.Options{MinWorkers: 1, MaxWorkers: 1})
		synctest.Wait()
		me := int(goid())
		done := holdWorker(p, g)
		st := p.Stats()
		require.Equal(t, 1, st.Busy)
		require.Equal(t, 0, st.Idle)
		require.Equal(t, uint64(1), st.Submitted)
		close(g.open)
		got := <-done
		require.NoError(t, got.err)
		require.NotEqual(t, me, got.goroutine)
		synctest.Wait()
		st = p.Stats()
		require.Equal(t, 0, st.Busy)
		require.Equal(t, 1, st.Idle)
		require.Equal(t, uint64(1), st.Completed)
	})
}

func TestInlinePanicRebuildsTheWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events []pool.EventKind
		var mu sync.Mutex
		p, built := wherePool(t, nil, pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: func(e pool.Event) {
			mu.Lock()
			events = append(events, e.Kind)
			mu.Unlock()
		}})
		synctest.Wait()
		_, err := p.Run(bg, -1)
		var pe *pool.PanicError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, "boom", pe.Value)
		require.Contains(t, string(pe.Stack), "whereWorker")
		synctest.Wait() // the slot's goroutine sees the lost worker and builds one
		require.Equal(t, int32(2), built.Load())
		got, err := p.Run(bg, 0)
		require.NoError(t, err)
		require.Equal(t, 2, got.worker, "the crashed worker is never used again")
		require.Equal(t, int(goid()), got.goroutine, "the rebuilt worker is lent too")
		st := p.Stats()
		require.Equal(t, uint64(1), st.Panicked)
		require.Equal(t, uint64(1), st.Restarts)
		require.NoError(t, p.Close(bg))
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []pool.EventKind{pool.WorkerStarted, pool.WorkerExited, pool.WorkerRestarted,
			pool.WorkerStarted, pool.WorkerExited, pool.PoolClosed}, events)
	})
}

func TestInlineRunsRecycleWorkers(t *testing.T) {
	p, _ := wherePool(t, nil, pool.Options{MaxWorkers: 1, MaxTasksPerWorker: 3})
	var ids []int
	for range 10 {
		got, err := p.Run(bg, 0) // inline or not, depending on timing
		require.NoError(t, err)
		ids = append(ids, got.worker)
	}
	require.Equal(t, []int{1, 1, 1, 2, 2, 2, 3, 3, 3, 4}, ids)
	require.Equal(t, uint64(3), p.Stats().Recycled)
}

func TestInlineWorkerIsNeverShared(t *testing.T) {
	// Callers that can and cannot be cancelled, Submit and Go all feed two
	// recycled, sometimes panicking workers: whatever mix of inline and
	// queued dispatch the timing gives, no worker sees two tasks at once
	// and every task has exactly one outcome.
	const callers, perCaller = 3, 400
	p, built := wherePool(t, nil, pool.Options{MaxWorkers: 2, MaxTasksPerWorker: 37, OnError: func(error) {}})
	var inline, queued, panicked atomic.Int64
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			for i := range perCaller {
				n := 0
				if (c*perCaller+i)%97 == 0 {
					n = -1
				}
				var got where
				var err error
				switch i % 4 {
				case 0, 1:
					got, err = p.Run(bg, n)
				case 2:
					got, err = p.Run(ctx, n)
				case 3:
					var f *pool.Future[where]
					f, err = p.Submit(ctx, n)
					require.NoError(t, err)
					got, err = f.Wait(bg)
				}
				if n == -1 {
					var pe *pool.PanicError
					require.ErrorAs(t, err, &pe)
					panicked.Add(1)
					continue
				}
				require.NoError(t, err)
				if got.goroutine == int(goid()) {
					inline.Add(1)
				} else {
					queued.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Close(bg))
	st := p.Stats()
	require.Equal(t, uint64(callers*perCaller), st.Submitted)
	require.Equal(t, uint64(inline.Load()+queued.Load()), st.Completed)
	require.Equal(t, uint64(panicked.Load()), st.Panicked)
	require.Equal(t, int64(callers*perCaller), inline.Load()+queued.Load()+panicked.Load())
	// A worker lost while lent is rebuilt by its slot later, which Close
	// may pre-empt: every rebuild is a recycle or a crash, not the reverse.
	require.LessOrEqual(t, built.Load()-2, int32(st.Recycled+st.Restarts))
	require.Positive(t, st.Recycled)
	require.Positive(t, queued.Load(), "cancellable callers and Submit always queue")
	t.Logf("inline %d, queued %d, panicked %d, recycled %d", inline.Load(), queued.Load(), panicked.Load(), st.Recycled)
}

func TestInlineTaskDoesNotHoldUpQueuedWork(t *testing.T) {
	// While a caller holds one worker for a long task, a task queued behind
	// it runs on the other, idle worker, even when the queue woke the
	// goroutine of the lent worker.
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		p, _ := wherePool(t, g, pool.Options{MinWorkers: 2, MaxWorkers: 2})
		for round := range 20 {
			synctest.Wait() // both workers parked
			long := holdWorker(p, g)
			f, err := p.Submit(bg, 0)
			require.NoError(t, err)
			// Fake time: an hour passes at once if nothing else can move.
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			got, err := f.Wait(ctx)
			cancel()
			require.NoError(t, err, "round %d: the queued task waited for the lent worker", round)
			g.open <- struct{}{}
			held := <-long
			require.NoError(t, held.err)
			require.NotEqual(t, held.worker, got.worker, "round %d", round)
		}
	})
}

func TestCloseWaitsForInlineRuns(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGate()
			p, _ := wherePool(t, g, pool.Options{MinWorkers: 1, MaxWorkers: 1})
			synctest.Wait()
			ran := holdWorker(p, g)
			closed := make(chan error)
			go func() { closed <- p.Close(bg) }()
			synctest.Wait()
			select {
			case err := <-closed:
				t.Fatalf("Close returned %v while a worker was lent", err)
			default:
			}
			_, err := p.Run(bg, 0)
			require.ErrorIs(t, err, pool.ErrClosed)
			close(g.open)
			require.NoError(t, (<-ran).err)
			require.NoError(t, <-closed)
		})
	})
	t.Run("forced, with a task that ignores its ctx", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			entered := make(chan uint64, 1)
			p, err := pool.NewFunc(func(_ context.Context, n int) (int, error) {
				entered <- goid()
				<-release
				return n, nil
			}, pool.Options{MinWorkers: 1, MaxWorkers: 1, HungGrace: time.Second})
			require.NoError(t, err)
			synctest.Wait()
			ran := make(chan bool)
			go func() {
				out, err := p.Run(bg, 7)
				require.NoError(t, err, "the task finished: its result stands")
				require.Equal(t, 7, out)
				ran <- <-entered == goid()
			}()
			synctest.Wait()
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			err = p.Close(ctx)
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Hung, 1, "the lent worker's slot is still waiting for it")
			close(release)
			require.True(t, <-ran, "the task ran on its caller's goroutine")
			// synctest.Test fails if the slot's goroutine outlives the bubble.
		})
	})
}

func TestInlineRunsKeepAWorkerFromIdling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := wherePool(t, nil, pool.Options{MaxWorkers: 1, IdleTimeout: time.Second})
		for range 10 {
			got, err := p.Run(bg, 0)
			require.NoError(t, err)
			require.Equal(t, 1, got.worker, "busy through inline runs, never retired")
			time.Sleep(400 * time.Millisecond) // fake time: lets idle ticks pass
		}
		require.Equal(t, 1, p.Stats().Workers)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, 0, p.Stats().Workers, "idle for two ticks, it retires")
	})
}

func TestReloadWaitsForALentWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		p, _ := wherePool(t, g, pool.Options{MinWorkers: 1, MaxWorkers: 1})
		synctest.Wait()
		long := holdWorker(p, g)
		reloaded := make(chan error)
		go func() { reloaded <- p.Reload(bg) }()
		synctest.Wait()
		select {
		case err := <-reloaded:
			t.Fatalf("Reload returned %v while the old worker was lent", err)
		default:
		}
		close(g.open)
		old := <-long
		require.NoError(t, old.err)
		require.Equal(t, 1, old.worker)
		require.NoError(t, <-reloaded)
		synctest.Wait()
		got, err := p.Run(bg, 0)
		require.NoError(t, err)
		require.Equal(t, 2, got.worker, "after Reload only the new worker serves")
		require.Equal(t, int(goid()), got.goroutine)
	})
}

func TestResizeDownRetiresALentWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		p, _ := wherePool(t, g, pool.Options{MinWorkers: 2, MaxWorkers: 2})
		synctest.Wait()
		long := holdWorker(p, g)
		require.NoError(t, p.Resize(1))
		close(g.open)
		require.NoError(t, (<-long).err)
		synctest.Wait()
		st := p.Stats()
		require.Equal(t, 1, st.Workers)
		require.Equal(t, 1, st.Idle)
		for range 3 {
			_, err := p.Run(bg, 0)
			require.NoError(t, err)
		}
		require.Equal(t, 1, p.Stats().Workers)
	})
}

// A lent slot stays parked on the queue, so a push can wake it with a task
// it cannot run. The task must go to the next free worker, count as queued,
// and keep its place ahead of later work; found by review.
func TestTaskTakenByALentSlotGoesToTheNextFreeWorker(t *testing.T) {
	for _, noInline := range []bool{false, true} {
		t.Run(fmt.Sprint("NoInline=", noInline), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				entered := make(chan int, 8)
				gates := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
				p := newPool(t, func(ctx context.Context, n int) (int, error) {
					entered <- n
					if g := gates[n]; g != nil {
						select {
						case <-g:
						case <-ctx.Done():
							return 0, ctx.Err()
						}
					}
					return n, nil
				}, pool.Options{MinWorkers: 2, MaxWorkers: 2, NoInline: noInline})
				synctest.Wait()
				y, err := p.Submit(bg, 2) // on one slot's own goroutine
				require.NoError(t, err)
				require.Equal(t, 2, <-entered)
				synctest.Wait()
				long := make(chan error)
				go func() { _, err := p.Run(bg, 1); long <- err }() // borrows the other worker
				require.Equal(t, 1, <-entered)
				synctest.Wait()
				x, err := p.Submit(bg, 3) // wakes the lent slot's goroutine
				require.NoError(t, err)
				synctest.Wait()
				assert.Equal(t, uint64(3), p.Stats().Submitted)
				assert.Equal(t, 1, p.Stats().Queued)
				close(gates[2])
				_, err = y.Wait(bg)
				require.NoError(t, err)

				ctx, cancel := context.WithTimeout(bg, time.Hour) // fake time
				_, err = x.Wait(ctx)
				cancel()
				require.NoError(t, err, "x waited for the lent worker while another was free")
				_, err = p.Run(bg, 4)
				require.NoError(t, err)
				close(gates[1])
				require.NoError(t, <-long)
				assert.Equal(t, []int{3, 4}, []int{<-entered, <-entered}, "FIFO: x before the later Run")
			})
		})
	}
}

// A task that submits to its own pool and waits must not deadlock, also
// when it runs inline: its inner task may be taken by the slot whose worker
// it borrowed, and must still find a worker; found by review.
func TestNestedWaitFromAnInlineTask(t *testing.T) {
	for _, noInline := range []bool{false, true} {
		t.Run(fmt.Sprint("NoInline=", noInline), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var p *pool.Pool[int, int]
				p = newPool(t, func(ctx context.Context, n int) (int, error) {
					if n != 1 {
						return n, nil
					}
					f, err := p.Submit(ctx, 2)
					if err != nil {
						return 0, err
					}
					synctest.Wait() // let the pool take the inner task
					wctx, cancel := context.WithTimeout(ctx, time.Hour)
					defer cancel()
					return f.Wait(wctx)
				}, pool.Options{MinWorkers: 1, MaxWorkers: 1, NoInline: noInline})
				synctest.Wait()
				out, err := p.Run(bg, 1)
				require.NoError(t, err)
				require.Equal(t, 2, out)
			})
		})
	}
	t.Run("real time", func(t *testing.T) {
		var p *pool.Pool[int, int]
		p = newPool(t, func(ctx context.Context, n int) (int, error) {
			if n != 1 {
				return n, nil
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			f, err := p.Submit(wctx, 2)
			if err != nil {
				return 0, err
			}
			return f.Wait(wctx)
		}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
		for i := range 1000 {
			out, err := p.Run(bg, 1)
			require.NoError(t, err, "run %d", i)
			require.Equal(t, 2, out)
		}
	})
}
