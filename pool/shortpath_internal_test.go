package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// Tests of exec's short path. A fresh pool times every task until it has
// timed warmSamples of them (sampled tasks take exec's long path,
// through invoke), so these tests mark the pool warm at once: a task is then
// sampled only when the Fibonacci hash of its sequence number picks it,
// which for the small sequence numbers used here is 0 and 34 only.

// makeWarm marks p warm and makes Run's futures start counting at 0, so that
// their first uses (1, 2, ...) are not sampled.
func makeWarm[In, Out any](p *Pool[In, Out]) {
	p.lat.warm.Store(true)
	p.free.New = func() any {
		return &Future[Out]{done: make(chan struct{}, 1), signal: true, core: p.core}
	}
}

// shortWorker: 0 returns at once, 1 waits for one and then panics, 2 waits
// for two and returns; it counts the tasks running at once.
type shortWorker struct {
	one, two <-chan struct{}
	running  *atomic.Int32
	most     *atomic.Int32
	ran      *atomic.Int32
}

func (w shortWorker) Handle(_ context.Context, n int) (int, error) {
	r := w.running.Add(1)
	defer w.running.Add(-1)
	for {
		m := w.most.Load()
		if r <= m || w.most.CompareAndSwap(m, r) {
			break
		}
	}
	w.ran.Add(1)
	switch n {
	case 1:
		<-w.one
		panic("one")
	case -1:
		<-w.one
		return 0, errors.New("one failed")
	case 2:
		<-w.two
	}
	return n, nil
}

// A slot whose task panics on the short path must still check, as after
// any other task, whether it should leave: Resize lowered MaxWorkers to 1,
// so the slot retires and the queued task waits for the other worker.
// serve instead resumes at once after rescued: it builds a fresh worker and
// runs the queued task next to the one still running, two at once on a pool
// of one.
func TestPanicOnShortPathStillRetiresASurplusSlot(t *testing.T) {
	for _, c := range []struct {
		name string
		in   int
	}{{"error", -1}, {"panic", 1}} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				one, two := make(chan struct{}), make(chan struct{})
				var running, most, ran, built atomic.Int32
				var errs atomic.Int32
				p, err := New(func(context.Context, WorkerInfo) (Worker[int, int], error) {
					built.Add(1)
					return shortWorker{one, two, &running, &most, &ran}, nil
				}, Options{MaxWorkers: 2, QueueSize: 8, NoInline: true, OnError: func(error) { errs.Add(1) }})
				require.NoError(t, err)
				var once1, once2 sync.Once
				open1 := func() { once1.Do(func() { close(one) }) }
				open2 := func() { once2.Do(func() { close(two) }) }
				defer func() { open1(); open2(); _ = p.Close(context.Background()) }()
				makeWarm(p)
				require.NoError(t, p.Go(context.Background(), 0)) // Seq 0 is sampled: spend it
				synctest.Wait()
				require.EqualValues(t, 1, ran.Load())

				require.NoError(t, p.Go(context.Background(), c.in)) // Seq 1: short path
				require.NoError(t, p.Go(context.Background(), 2))
				synctest.Wait()
				require.EqualValues(t, 2, running.Load())
				most.Store(0)
				require.NoError(t, p.Resize(1))
				synctest.Wait()
				require.NoError(t, p.Go(context.Background(), 0))

				open1() // task c.in ends; its slot is surplus and must leave
				synctest.Wait()
				require.EqualValues(t, 1, errs.Load())
				require.EqualValues(t, 1, running.Load(), "only the task of input 2 may run: MaxWorkers is 1")
				require.LessOrEqual(t, most.Load(), int32(1), "tasks ran at once after Resize(1)")
				require.EqualValues(t, 3, ran.Load(), "the queued task must wait for the one running")

				open2()
				synctest.Wait()
				require.EqualValues(t, 4, ran.Load())
				require.NoError(t, p.Close(context.Background()))
				t.Logf("workers built: %d", built.Load())
			})
		})
	}
}

// A stateless pool keeps its worker after a panic, and the task counts
// towards MaxTasksPerWorker. When that task was the worker's last, serve
// must recycle the worker before it lends it again, as after any other
// task; instead it parks with the spent worker on offer and an inline Run
// borrows it for a task beyond MaxTasksPerWorker.
func TestPanicOnShortPathRecyclesASpentWorkerBeforeLendingIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p *Pool[int, int]
		var recycledAtLast atomic.Int64
		recycledAtLast.Store(-1)
		p, err := NewFunc(func(_ context.Context, n int) (int, error) {
			switch n {
			case 1:
				panic("one")
			case 3:
				recycledAtLast.Store(int64(p.Stats().Recycled))
			}
			return n, nil
		}, Options{MinWorkers: 1, MaxWorkers: 1, MaxTasksPerWorker: 2, OnError: func(error) {}})
		require.NoError(t, err)
		defer func() { _ = p.Close(context.Background()) }()
		makeWarm(p)
		synctest.Wait()
		require.NoError(t, p.Go(context.Background(), 0)) // Seq 0, sampled: the worker's first task
		synctest.Wait()
		require.NoError(t, p.Go(context.Background(), 1)) // Seq 1, short path: its second, which panics
		synctest.Wait()
		out, err := p.Run(context.Background(), 3) // inline: borrows the parked slot's worker
		require.NoError(t, err)
		require.Equal(t, 3, out)
		require.EqualValues(t, 1, recycledAtLast.Load(),
			"task 3 ran on a worker that had already handled MaxTasksPerWorker tasks")
	})
}

type shortPanicker struct{}

func (shortPanicker) Handle(_ context.Context, n int) (int, error) {
	if n < 0 {
		shortPanicOnPurpose(n)
	}
	return n, nil
}

func shortPanicOnPurpose(n int) { panic(n) }

// TestPanicsOnEveryPath (rescue_test.go) on a warm pool, where its tasks
// take exec's short path.
func TestShortPathPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		run  func(p *Pool[int, int], n int) (int, error)
	}{
		{"Go", Options{}, nil},
		{"Run inline", Options{}, func(p *Pool[int, int], n int) (int, error) { return p.Run(context.Background(), n) }},
		{"Run queued", Options{NoInline: true}, func(p *Pool[int, int], n int) (int, error) { return p.Run(context.Background(), n) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var built atomic.Int32
				var reported []error
				opts := c.opts
				opts.MaxWorkers, opts.MinWorkers = 1, 1
				opts.OnError = func(err error) { reported = append(reported, err) }
				p, err := New(func(context.Context, WorkerInfo) (Worker[int, int], error) {
					built.Add(1)
					return shortPanicker{}, nil
				}, opts)
				require.NoError(t, err)
				makeWarm(p)
				require.NoError(t, p.Go(context.Background(), 100)) // spend Seq 0
				synctest.Wait()
				run := c.run
				if run == nil {
					run = func(p *Pool[int, int], n int) (int, error) {
						err := p.Go(context.Background(), n)
						synctest.Wait()
						return n, err
					}
				}
				for i, n := range []int{1, -2, 3, -4, 5} {
					out, err := run(p, n)
					synctest.Wait()
					if n < 0 && c.run != nil {
						var pe *PanicError
						require.ErrorAs(t, err, &pe, "task %d", i)
						require.Equal(t, n, pe.Value)
						require.Contains(t, string(pe.Stack), "shortPanicOnPurpose")
						continue
					}
					require.NoError(t, err, "task %d", i)
					require.Equal(t, n, out)
				}
				require.NoError(t, p.Close(context.Background()))
				st := p.Stats()
				require.EqualValues(t, 2, st.Panicked)
				require.EqualValues(t, 4, st.Completed)
				require.EqualValues(t, 3, built.Load())
				if c.run == nil {
					require.Len(t, reported, 2)
				}
			})
		})
	}
}

// Once warm, one task in sampleEvery should be timed. Tasks that go to the
// overflow of an Unbounded pool do not move the ring's tail, so they all
// read the same ring.Seq and get the same decision: here none of 3200 is
// sampled (with another tail, every one would be).
func TestOverflowTasksAreSampledOneInThirtyTwo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open := make(chan struct{})
		p, err := NewFunc(func(_ context.Context, n int) (int, error) {
			if n == 0 {
				<-open
			}
			return n, nil
		}, Options{MaxWorkers: 1, QueueSize: Unbounded})
		require.NoError(t, err)
		defer func() { _ = p.Close(context.Background()) }()
		makeWarm(p)
		require.NoError(t, p.Go(context.Background(), 0)) // holds the only worker
		synctest.Wait()
		const buffered, overflowed = DefaultQueueSize, 3200
		for i := range buffered + overflowed {
			require.NoError(t, p.Go(context.Background(), i+1))
		}
		require.EqualValues(t, overflowed, p.ovf.n.Load())
		close(open)
		require.NoError(t, p.Close(context.Background()))
		got := p.Stats().RunTime.Count
		want := uint64(1+buffered+overflowed) / sampleEvery
		require.InDelta(t, want, got, float64(want)/4, "sampled %d of %d tasks", got, 1+buffered+overflowed)
	})
}
