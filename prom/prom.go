package prom

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/crewkit/crew/pool"
	"github.com/prometheus/client_golang/prometheus"
)

// name matches a namespace or label name in Prometheus' classic character
// set, which every consumer accepts.
var name = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Pool is what a Collector reads: any crew pool, typed (*pool.Pool) or of
// closures (*pool.Tasks), or anything else that reports pool.Stats.
type Pool interface {
	Stats() pool.Stats
}

// DefaultNamespace prefixes metric names when Options.Namespace is empty.
const DefaultNamespace = "crew"

// Options configures a Collector. The zero value names metrics
// crew_pool_... and labels them with the pool's name only.
type Options struct {
	// Namespace is the first part of every metric name. Empty means
	// DefaultNamespace ("crew"); otherwise it must match
	// [a-zA-Z_][a-zA-Z0-9_]*.
	Namespace string

	// ConstLabels are added to every metric beside "pool". Nil means none.
	// Their names must be valid label names other than "pool", "state",
	// "outcome" and "quantile".
	ConstLabels prometheus.Labels
}

// Collector is a prometheus.Collector of one pool's stats. Each Collect
// calls the pool's Stats once, which takes no lock that tasks take; the
// collector keeps no state of its own, so it is safe for concurrent use and
// starts no goroutine.
//
// Every metric carries the label pool, set to the pool's Options.Name when
// the collector was made, so that collectors of several pools can be
// registered side by side.
type Collector struct {
	p Pool

	workers, workersMax, workersMin, queueLen, queueCap *prometheus.Desc
	tasks, restarts, recycled, hungTotal, state, util   *prometheus.Desc
	run, wait                                           *prometheus.Desc
}

// The label names a Collector uses for itself.
var ownLabels = []string{"pool", "state", "outcome", "quantile"}

// NewCollector returns a Collector of p. It panics with a "prom:" message
// for a nil pool or invalid options.
func NewCollector(p Pool, opts Options) *Collector {
	if v := reflect.ValueOf(p); p == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		panic("prom: NewCollector needs a non-nil pool")
	}
	ns := opts.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if !name.MatchString(ns) {
		panic(fmt.Sprintf("prom: Options.Namespace must match [a-zA-Z_][a-zA-Z0-9_]*, got %q", ns))
	}
	labels := prometheus.Labels{"pool": p.Stats().Name}
	for label, v := range opts.ConstLabels {
		if !name.MatchString(label) || strings.HasPrefix(label, "__") {
			panic(fmt.Sprintf("prom: Options.ConstLabels: invalid label name %q", label))
		}
		if slices.Contains(ownLabels, label) {
			panic(fmt.Sprintf("prom: Options.ConstLabels must not set %q, which the collector sets", label))
		}
		labels[label] = v
	}
	desc := func(name, help string, variable ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "pool", name), help, variable, labels)
	}
	return &Collector{
		p: p,
		workers: desc("workers", "Workers of the pool by state: busy (running a task, or between two), "+
			"idle (waiting for a task), hung (abandoned goroutines still running a task past its deadline).", "state"),
		workersMax: desc("workers_max", "The pool's current MaxWorkers."),
		workersMin: desc("workers_min", "The pool's current MinWorkers."),
		queueLen:   desc("queue_length", "Tasks waiting in the pool's queue for a worker."),
		queueCap:   desc("queue_capacity", "Bound of the pool's queue; absent when the queue is unbounded."),
		tasks: desc("tasks_total", "Tasks of the pool by outcome since it started: completed, failed (returned an error), "+
			"panicked, rejected (refused on arrival: a full queue, or an admission rule such as httpx's waiting budget), canceled (never ran: the caller left, or the pool closed or failed), "+
			"timed_out (ran past TaskTimeout).", "outcome"),
		restarts:  desc("restarts_total", "Workers rebuilt after a crash, a hang or a factory failure."),
		recycled:  desc("workers_recycled_total", "Workers replaced after MaxTasksPerWorker tasks."),
		hungTotal: desc("workers_hung_total", "Workers ever declared hung."),
		state:     desc("state", "The pool's state: 1 for the current one (open, closing, closed or failed), 0 for the others.", "state"),
		util: desc("utilization_ratio", "Share of MaxWorkers' time spent running tasks since the pool started, "+
			"estimated from the sampled run times."),
		run: desc("task_run_seconds", "Run time of the pool's tasks since it started. Sampled: the pool times every task "+
			"until it has timed 256, then one in 32, so _count counts timed tasks, not tasks run; "+
			"a sample within 12.5% of a bucket's bound may count in the next bucket."),
		wait: desc("task_wait_seconds", "Time the pool's tasks waited in its queue since it started. Sampled: the pool times "+
			"every task until it has timed 256, then one in 32, so _count counts timed tasks, not tasks run; "+
			"a sample within 12.5% of a bucket's bound may count in the next bucket."),
	}
}

// Describe sends the descriptors of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.workers, c.workersMax, c.workersMin, c.queueLen, c.queueCap,
		c.tasks, c.restarts, c.recycled, c.hungTotal, c.state, c.util, c.run, c.wait,
	} {
		ch <- d
	}
}

// poolStates are the values of pool.Stats.State.
var poolStates = []string{"open", "closing", "closed", "failed"}

// Collect reads the pool's stats once and sends them as metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(c.workers, float64(st.Busy), "busy")
	gauge(c.workers, float64(st.Idle), "idle")
	gauge(c.workers, float64(st.Hung), "hung")
	gauge(c.workersMax, float64(st.Max))
	gauge(c.workersMin, float64(st.Min))
	gauge(c.queueLen, float64(st.Queued))
	if st.QueueCap != pool.Unbounded {
		gauge(c.queueCap, float64(st.QueueCap))
	}
	for _, o := range []struct {
		name string
		v    uint64
	}{
		{"completed", st.Completed}, {"failed", st.Failed}, {"panicked", st.Panicked},
		{"rejected", st.Rejected}, {"canceled", st.Canceled}, {"timed_out", st.TimedOut},
	} {
		counter(c.tasks, o.v, o.name)
	}
	counter(c.restarts, st.Restarts)
	counter(c.recycled, st.Recycled)
	counter(c.hungTotal, st.HungTotal)
	for _, s := range poolStates {
		v := 0.0
		if s == st.State {
			v = 1
		}
		gauge(c.state, v, s)
	}
	gauge(c.util, st.Utilization)
	ch <- histogram(c.run, st.RunTime)
	ch <- histogram(c.wait, st.WaitTime)
}

// histogram exports l as a histogram in seconds: its sampled count, their
// exact sum, and the pool's fixed buckets (pool.LatencyBounds), which stay
// the same from one scrape to the next.
func histogram(d *prometheus.Desc, l pool.Latency) prometheus.Metric {
	buckets := make(map[float64]uint64, len(l.Buckets))
	for _, b := range l.Buckets {
		buckets[b.UpperBound.Seconds()] = b.Count
	}
	return prometheus.MustNewConstHistogram(d, l.Count, l.Sum.Seconds(), buckets)
}
