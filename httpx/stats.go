package httpx

import (
	"math"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/crewkit/crew/pool"
)

// Stats is the JSON body of StatsHandler: a pool.Stats in snake_case, with
// durations in milliseconds (the unit is in each field's name) and the
// process's runtime figures. Latency is sampled: RunSampled and WaitSampled
// count the tasks the percentiles are computed from, which are fewer than
// the tasks completed once a worker has timed 256 (then one task in 32 is
// timed).
type Stats struct {
	Name  string `json:"name"`  // the pool's Options.Name
	State string `json:"state"` // "open", "closing", "closed" or "failed"

	Workers    int `json:"workers"`     // live workers, busy or idle
	Busy       int `json:"busy"`        // workers not waiting for a task
	Idle       int `json:"idle"`        // workers waiting for a task
	Hung       int `json:"hung"`        // abandoned goroutines still running a hung task
	MaxWorkers int `json:"max_workers"` // current MaxWorkers
	MinWorkers int `json:"min_workers"` // current MinWorkers
	Queued     int `json:"queued"`      // tasks waiting for a worker
	QueueCap   int `json:"queue_cap"`   // the queue's bound, or pool.Unbounded (-1)

	Submitted uint64 `json:"submitted"`  // tasks accepted: resolved, running or queued
	Completed uint64 `json:"completed"`  // succeeded
	Failed    uint64 `json:"failed"`     // returned an error
	Panicked  uint64 `json:"panicked"`   // panicked
	Rejected  uint64 `json:"rejected"`   // refused on arrival: a full queue, or past the waiting budget
	Canceled  uint64 `json:"canceled"`   // never ran
	TimedOut  uint64 `json:"timed_out"`  // ran past TaskTimeout
	Restarts  uint64 `json:"restarts"`   // workers rebuilt after a crash, hang or factory failure
	Recycled  uint64 `json:"recycled"`   // workers replaced after MaxTasksPerWorker
	HungTotal uint64 `json:"hung_total"` // workers ever declared hung

	// Utilization is the fraction of MaxWorkers' time spent running tasks
	// since the pool started, estimated from the sampled run times.
	Utilization float64 `json:"utilization"`

	RunSampled uint64  `json:"run_sampled"` // tasks whose run time was sampled
	RunMeanMs  float64 `json:"run_mean_ms"` // mean sampled run time
	RunP50Ms   float64 `json:"run_p50_ms"`  // percentiles of the sampled run times
	RunP90Ms   float64 `json:"run_p90_ms"`
	RunP99Ms   float64 `json:"run_p99_ms"`
	RunMaxMs   float64 `json:"run_max_ms"` // the longest sampled run time
	RunSumMs   float64 `json:"run_sum_ms"` // total of the sampled run times

	WaitSampled uint64  `json:"wait_sampled"` // tasks whose queue wait was sampled
	WaitMeanMs  float64 `json:"wait_mean_ms"` // mean sampled wait in the queue
	WaitP50Ms   float64 `json:"wait_p50_ms"`  // percentiles of the sampled waits
	WaitP90Ms   float64 `json:"wait_p90_ms"`
	WaitP99Ms   float64 `json:"wait_p99_ms"`
	WaitMaxMs   float64 `json:"wait_max_ms"` // the longest sampled wait
	WaitSumMs   float64 `json:"wait_sum_ms"` // total of the sampled waits

	Runtime Runtime `json:"runtime"` // the whole process's figures, not only the pool's
}

// Runtime holds the Go runtime's figures for the whole process, read with
// runtime/metrics, which does not stop the world.
type Runtime struct {
	Goroutines    uint64  `json:"goroutines"`      // live goroutines
	HeapBytes     uint64  `json:"heap_bytes"`      // bytes in live and not yet swept heap objects
	HeapGoalBytes uint64  `json:"heap_goal_bytes"` // heap size at which the next GC starts
	TotalBytes    uint64  `json:"total_bytes"`     // memory mapped by the runtime, released or not
	GCCycles      uint64  `json:"gc_cycles"`       // completed GC cycles since the process started
	GCPauseP99Ms  float64 `json:"gc_pause_p99_ms"` // 99th percentile of stop-the-world pauses since start
	GCCPUFraction float64 `json:"gc_cpu_fraction"` // share of the process's CPU time spent in GC since start
	GOMAXPROCS    int     `json:"gomaxprocs"`      // threads that may run Go code at once
}

// StatsOf converts st to its JSON form, with rt as its runtime figures.
func StatsOf(st pool.Stats, rt Runtime) Stats {
	return Stats{
		Name: st.Name, State: st.State,
		Workers: st.Workers, Busy: st.Busy, Idle: st.Idle, Hung: st.Hung,
		MaxWorkers: st.Max, MinWorkers: st.Min, Queued: st.Queued, QueueCap: st.QueueCap,
		Submitted: st.Submitted, Completed: st.Completed, Failed: st.Failed, Panicked: st.Panicked,
		Rejected: st.Rejected, Canceled: st.Canceled, TimedOut: st.TimedOut, Restarts: st.Restarts,
		Recycled: st.Recycled, HungTotal: st.HungTotal,
		Utilization: math.Round(st.Utilization*1e4) / 1e4,

		RunSampled: st.RunTime.Count, RunMeanMs: ms(st.RunTime.Mean),
		RunP50Ms: ms(st.RunTime.P50), RunP90Ms: ms(st.RunTime.P90), RunP99Ms: ms(st.RunTime.P99),
		RunMaxMs: ms(st.RunTime.Max), RunSumMs: ms(st.RunTime.Sum),

		WaitSampled: st.WaitTime.Count, WaitMeanMs: ms(st.WaitTime.Mean),
		WaitP50Ms: ms(st.WaitTime.P50), WaitP90Ms: ms(st.WaitTime.P90), WaitP99Ms: ms(st.WaitTime.P99),
		WaitMaxMs: ms(st.WaitTime.Max), WaitSumMs: ms(st.WaitTime.Sum),

		Runtime: rt,
	}
}

// ms returns d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// The runtime/metrics samples that ReadRuntime reads, in this order.
var runtimeSamples = [...]string{
	"/sched/goroutines:goroutines",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/total:bytes",
	"/gc/cycles/total:gc-cycles",
	"/sched/pauses/total/gc:seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
}

// ReadRuntime returns the process's runtime figures. It does not stop the
// world; it allocates about 2 KiB, mostly for the GC pause histogram, so it
// suits a request, not a task. It is safe for concurrent use.
func ReadRuntime() Runtime {
	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		samples[i].Name = name
	}
	metrics.Read(samples)
	u := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	f := func(i int) float64 {
		if samples[i].Value.Kind() != metrics.KindFloat64 {
			return 0
		}
		return samples[i].Value.Float64()
	}
	rt := Runtime{
		Goroutines: u(0), HeapBytes: u(1), HeapGoalBytes: u(2), TotalBytes: u(3), GCCycles: u(4),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if samples[5].Value.Kind() == metrics.KindFloat64Histogram {
		rt.GCPauseP99Ms = math.Round(histogramQuantile(samples[5].Value.Float64Histogram(), 0.99)*1e6) / 1e3
	}
	if total := f(7); total > 0 {
		rt.GCCPUFraction = math.Round(f(6)/total*1e4) / 1e4
	}
	return rt
}

// histogramQuantile returns the upper bound of the bucket holding quantile
// q of h, or 0 when h is empty. The last bucket's bound may be +Inf; its
// lower bound is returned then.
func histogramQuantile(h *metrics.Float64Histogram, q float64) float64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			if hi := h.Buckets[i+1]; !math.IsInf(hi, 1) {
				return hi
			}
			return h.Buckets[i]
		}
	}
	return 0
}
