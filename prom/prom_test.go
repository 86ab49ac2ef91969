package prom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

var bg = context.Background()

// newTasks builds a closure pool and closes it when the test ends.
func newTasks(t *testing.T, opts pool.Options) *pool.Tasks {
	t.Helper()
	p, err := pool.NewTasks(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(bg)) })
	return p
}

func TestCollectorLint(t *testing.T) {
	t.Run("every metric passes client_golang's lint", func(t *testing.T) {
		p := newTasks(t, pool.Options{Name: "cpu"})
		require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
		problems, err := testutil.CollectAndLint(prom.NewCollector(p, prom.Options{}))
		require.NoError(t, err)
		require.Empty(t, problems)
	})

	t.Run("a pedantic registry accepts the collector", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(prom.NewCollector(newTasks(t, pool.Options{}), prom.Options{}))
		families, err := reg.Gather()
		require.NoError(t, err)
		require.Len(t, families, 13)
	})
}

func TestCollectorValues(t *testing.T) {
	t.Run("workers, queue, outcomes and state are exported as the pool reports them", func(t *testing.T) {
		p := newTasks(t, pool.Options{Name: "cpu", MaxWorkers: 1, QueueSize: 2})
		c := prom.NewCollector(p, prom.Options{ConstLabels: prometheus.Labels{"service": "thumbs"}})
		require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
		require.NoError(t, p.Run(bg, func(context.Context) error { return nil }))
		require.Error(t, p.Run(bg, func(context.Context) error { return errors.New("failed on purpose") }))
		var pe *pool.PanicError
		require.ErrorAs(t, p.Run(bg, func(context.Context) error { panic("on purpose") }), &pe)

		// Hold the only worker, fill the queue, and have one more refused.
		release, started := make(chan struct{}), make(chan struct{})
		busy, err := p.TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
		require.NoError(t, err)
		<-started
		var queued []*pool.Future[struct{}]
		for range 2 {
			f, err := p.TrySubmit(bg, func(context.Context) error { return nil })
			require.NoError(t, err)
			queued = append(queued, f)
		}
		_, err = p.TrySubmit(bg, func(context.Context) error { return nil })
		require.ErrorIs(t, err, pool.ErrQueueFull)
		p.CountRejected() // a refusal made in front of the pool, as httpx makes them on arrival

		const want = `
# HELP crew_pool_queue_capacity Bound of the pool's queue; absent when the queue is unbounded.
# TYPE crew_pool_queue_capacity gauge
crew_pool_queue_capacity{pool="cpu",service="thumbs"} 2
# HELP crew_pool_queue_length Tasks waiting in the pool's queue for a worker.
# TYPE crew_pool_queue_length gauge
crew_pool_queue_length{pool="cpu",service="thumbs"} 2
# HELP crew_pool_restarts_total Workers rebuilt after a crash, a hang or a factory failure.
# TYPE crew_pool_restarts_total counter
crew_pool_restarts_total{pool="cpu",service="thumbs"} 0
# HELP crew_pool_state The pool's state: 1 for the current one (open, closing, closed or failed), 0 for the others.
# TYPE crew_pool_state gauge
crew_pool_state{pool="cpu",service="thumbs",state="closed"} 0
crew_pool_state{pool="cpu",service="thumbs",state="closing"} 0
crew_pool_state{pool="cpu",service="thumbs",state="failed"} 0
crew_pool_state{pool="cpu",service="thumbs",state="open"} 1
# HELP crew_pool_tasks_total Tasks of the pool by outcome since it started: completed, failed (returned an error), panicked, rejected (refused on arrival: a full queue, or an admission rule such as httpx's waiting budget), canceled (never ran: the caller left, or the pool closed or failed), timed_out (ran past TaskTimeout).
# TYPE crew_pool_tasks_total counter
crew_pool_tasks_total{outcome="canceled",pool="cpu",service="thumbs"} 0
crew_pool_tasks_total{outcome="completed",pool="cpu",service="thumbs"} 2
crew_pool_tasks_total{outcome="failed",pool="cpu",service="thumbs"} 1
crew_pool_tasks_total{outcome="panicked",pool="cpu",service="thumbs"} 1
crew_pool_tasks_total{outcome="rejected",pool="cpu",service="thumbs"} 2
crew_pool_tasks_total{outcome="timed_out",pool="cpu",service="thumbs"} 0
# HELP crew_pool_workers Workers of the pool by state: busy (running a task, or between two), idle (waiting for a task), hung (abandoned goroutines still running a task past its deadline).
# TYPE crew_pool_workers gauge
crew_pool_workers{pool="cpu",service="thumbs",state="busy"} 1
crew_pool_workers{pool="cpu",service="thumbs",state="hung"} 0
crew_pool_workers{pool="cpu",service="thumbs",state="idle"} 0
# HELP crew_pool_workers_hung_total Workers ever declared hung.
# TYPE crew_pool_workers_hung_total counter
crew_pool_workers_hung_total{pool="cpu",service="thumbs"} 0
# HELP crew_pool_workers_max The pool's current MaxWorkers.
# TYPE crew_pool_workers_max gauge
crew_pool_workers_max{pool="cpu",service="thumbs"} 1
`
		require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
			"crew_pool_queue_capacity", "crew_pool_queue_length", "crew_pool_restarts_total", "crew_pool_state",
			"crew_pool_tasks_total", "crew_pool_workers", "crew_pool_workers_hung_total", "crew_pool_workers_max"))

		close(release)
		for _, f := range append(queued, busy) {
			_, err := f.Wait(bg)
			require.NoError(t, err)
		}
	})

	t.Run("run and wait time are sampled histograms in seconds, with fixed buckets", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{MaxWorkers: 1})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, p.Close(bg)) })
			// Two tasks queue behind a first: they wait 20ms and 40ms.
			var futs []*pool.Future[struct{}]
			for range 3 {
				f, err := p.Submit(bg, func(context.Context) error { time.Sleep(20 * time.Millisecond); return nil })
				require.NoError(t, err)
				futs = append(futs, f)
			}
			for _, f := range futs {
				_, err := f.Wait(bg)
				require.NoError(t, err)
			}
			run := histogramOf(t, prom.NewCollector(p, prom.Options{}), "crew_pool_task_run_seconds")
			require.Equal(t, uint64(3), run.GetSampleCount())
			require.InDelta(t, 0.060, run.GetSampleSum(), 1e-9)
			require.Equal(t, map[float64]uint64{0.01: 0, 0.025: 3, 0.05: 3}, cumulative(run, 0.01, 0.025, 0.05))
			require.Len(t, run.GetBucket(), len(pool.LatencyBounds()), "the same buckets at every scrape")

			wait := histogramOf(t, prom.NewCollector(p, prom.Options{}), "crew_pool_task_wait_seconds")
			require.Equal(t, uint64(3), wait.GetSampleCount())
			require.InDelta(t, 0.060, wait.GetSampleSum(), 1e-9, "0 + 20ms + 40ms")
			require.Equal(t, map[float64]uint64{0.01: 1, 0.025: 2, 0.05: 3}, cumulative(wait, 0.01, 0.025, 0.05))
		})
	})

	t.Run("an unbounded queue has no capacity metric", func(t *testing.T) {
		c := prom.NewCollector(newTasks(t, pool.Options{QueueSize: pool.Unbounded}), prom.Options{})
		require.Zero(t, testutil.CollectAndCount(c, "crew_pool_queue_capacity"))
		require.Equal(t, 1, testutil.CollectAndCount(c, "crew_pool_queue_length"))
	})

	t.Run("a closed pool reports the closed state", func(t *testing.T) {
		p, err := pool.NewTasks(pool.Options{})
		require.NoError(t, err)
		require.NoError(t, p.Close(bg))
		require.NoError(t, testutil.CollectAndCompare(prom.NewCollector(p, prom.Options{Namespace: "app"}), strings.NewReader(`
# HELP app_pool_state The pool's state: 1 for the current one (open, closing, closed or failed), 0 for the others.
# TYPE app_pool_state gauge
app_pool_state{pool="pool",state="closed"} 1
app_pool_state{pool="pool",state="closing"} 0
app_pool_state{pool="pool",state="failed"} 0
app_pool_state{pool="pool",state="open"} 0
`), "app_pool_state"))
	})
}

// histogramOf collects c and returns the histogram named name.
func histogramOf(t *testing.T, c prometheus.Collector, name string) *dto.Histogram {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1)
			return f.GetMetric()[0].GetHistogram()
		}
	}
	require.Failf(t, "no such metric", "%s", name)
	return nil
}

// cumulative returns h's cumulative counts at the given upper bounds.
func cumulative(h *dto.Histogram, bounds ...float64) map[float64]uint64 {
	out := map[float64]uint64{}
	for _, b := range h.GetBucket() {
		for _, want := range bounds {
			if b.GetUpperBound() == want {
				out[want] = b.GetCumulativeCount()
			}
		}
	}
	return out
}

func TestCollectorRegistration(t *testing.T) {
	t.Run("collectors of two pools register side by side", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(prom.NewCollector(newTasks(t, pool.Options{Name: "cpu"}), prom.Options{}))
		reg.MustRegister(prom.NewCollector(newTasks(t, pool.Options{Name: "io"}), prom.Options{}))
		n, err := testutil.GatherAndCount(reg, "crew_pool_workers_max")
		require.NoError(t, err)
		require.Equal(t, 2, n)
	})

	t.Run("two collectors of one pool name are refused", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prom.NewCollector(newTasks(t, pool.Options{Name: "cpu"}), prom.Options{}))
		require.Error(t, reg.Register(prom.NewCollector(newTasks(t, pool.Options{Name: "cpu"}), prom.Options{})))
	})

	t.Run("invalid options panic at construction", func(t *testing.T) {
		p := newTasks(t, pool.Options{})
		require.PanicsWithValue(t, "prom: NewCollector needs a non-nil pool", func() { prom.NewCollector(nil, prom.Options{}) })
		var nilTasks *pool.Tasks
		require.PanicsWithValue(t, "prom: NewCollector needs a non-nil pool", func() { prom.NewCollector(nilTasks, prom.Options{}) })
		require.PanicsWithValue(t, `prom: Options.Namespace must match [a-zA-Z_][a-zA-Z0-9_]*, got "my-app"`,
			func() { prom.NewCollector(p, prom.Options{Namespace: "my-app"}) })
		require.PanicsWithValue(t, `prom: Options.ConstLabels must not set "pool", which the collector sets`,
			func() { prom.NewCollector(p, prom.Options{ConstLabels: prometheus.Labels{"pool": "x"}}) })
		require.PanicsWithValue(t, `prom: Options.ConstLabels: invalid label name "a-b"`,
			func() { prom.NewCollector(p, prom.Options{ConstLabels: prometheus.Labels{"a-b": "x"}}) })
	})
}
