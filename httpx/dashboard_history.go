package httpx

import (
	"math"
	"time"

	"github.com/crewkit/crew/pool"
)

// DashboardData is the JSON that a Dashboard serves at its URL with
// ?format=json, and that its page polls.
type DashboardData struct {
	IntervalMs int64 `json:"interval_ms"` // DashboardOptions.Interval
	WindowMs   int64 `json:"window_ms"`   // DashboardOptions.Window
	HistoryMs  int64 `json:"history_ms"`  // DashboardOptions.History

	Stats   Stats            `json:"stats"`   // now, as StatsHandler serves them
	Window  DashboardWindow  `json:"window"`  // the last Window
	History []DashboardPoint `json:"history"` // oldest first, one per Interval
}

// DashboardWindow sums up the samples of the last DashboardOptions.Window.
// Its means are exact (the pool reports the sum of its samples); its
// percentiles come from the pool's fixed latency buckets
// (pool.LatencyBounds) and are the upper bound of the bucket that holds
// them: "p99 at most 25ms", coarser than the since-start percentiles.
type DashboardWindow struct {
	Seconds         float64 `json:"seconds"` // the time covered: less than Window while the history is shorter
	Completed       uint64  `json:"completed"`
	CompletedPerSec float64 `json:"completed_per_sec"`
	Rejected        uint64  `json:"rejected"`
	Errors          uint64  `json:"errors"` // failed, panicked and timed out
	RunSampled      uint64  `json:"run_sampled"`
	RunMeanMs       float64 `json:"run_mean_ms"`
	RunP50Ms        float64 `json:"run_p50_ms"` // at most: a bucket's upper bound
	RunP99Ms        float64 `json:"run_p99_ms"`
	WaitSampled     uint64  `json:"wait_sampled"`
	WaitMeanMs      float64 `json:"wait_mean_ms"`
	WaitP50Ms       float64 `json:"wait_p50_ms"`
	WaitP99Ms       float64 `json:"wait_p99_ms"`
}

// DashboardPoint is one sample of a Dashboard's history. Rates and means
// cover the Interval that ends at T.
type DashboardPoint struct {
	T               int64   `json:"t"` // Unix milliseconds
	Busy            int     `json:"busy"`
	Idle            int     `json:"idle"`
	Hung            int     `json:"hung"`
	Queued          int     `json:"queued"`
	CompletedPerSec float64 `json:"completed_per_sec"`
	RejectedPerSec  float64 `json:"rejected_per_sec"`
	ErrorsPerSec    float64 `json:"errors_per_sec"`
	RunMeanMs       float64 `json:"run_mean_ms"`  // 0 when no run was sampled in the interval
	WaitMeanMs      float64 `json:"wait_mean_ms"` // 0 when no wait was sampled in the interval
	Goroutines      uint64  `json:"goroutines"`
	HeapBytes       uint64  `json:"heap_bytes"`
}

// sample is the pool and the runtime at one moment.
type sample struct {
	at time.Time
	st pool.Stats
	rt Runtime
}

// history is a ring of the latest samples, oldest first.
type history struct {
	ring  []sample
	first int // index of the oldest sample
	n     int // samples held
}

func newHistory(size int) history { return history{ring: make([]sample, max(size, 2))} }

// add appends s, dropping the oldest sample when the ring is full.
func (h *history) add(s sample) {
	if h.n < len(h.ring) {
		h.ring[(h.first+h.n)%len(h.ring)] = s
		h.n++
		return
	}
	h.ring[h.first] = s
	h.first = (h.first + 1) % len(h.ring)
}

// at returns the i-th oldest sample.
func (h *history) at(i int) *sample { return &h.ring[(h.first+i)%len(h.ring)] }

// body returns the dashboard's data but its Stats: the window, and the
// points after since (Unix milliseconds).
func (h *history) body(opts DashboardOptions, since int64) DashboardData {
	d := DashboardData{
		IntervalMs: opts.Interval.Milliseconds(), WindowMs: opts.Window.Milliseconds(),
		HistoryMs: opts.History.Milliseconds(), History: []DashboardPoint{},
	}
	for i := 1; i < h.n; i++ {
		if cur := h.at(i); cur.at.UnixMilli() > since {
			d.History = append(d.History, point(h.at(i-1), cur))
		}
	}
	if h.n < 2 {
		return d
	}
	newest := h.at(h.n - 1)
	oldest := newest
	for i := h.n - 2; i >= 0 && newest.at.Sub(h.at(i).at) <= opts.Window; i-- {
		oldest = h.at(i)
	}
	d.Window = window(oldest, newest)
	return d
}

// point is the sample cur with the rates since prev.
func point(prev, cur *sample) DashboardPoint {
	d := delta(prev, cur)
	return DashboardPoint{
		T: cur.at.UnixMilli(), Busy: cur.st.Busy, Idle: cur.st.Idle, Hung: cur.st.Hung, Queued: cur.st.Queued,
		CompletedPerSec: d.rate(d.completed), RejectedPerSec: d.rate(d.rejected), ErrorsPerSec: d.rate(d.errors),
		RunMeanMs: d.runMean, WaitMeanMs: d.waitMean,
		Goroutines: cur.rt.Goroutines, HeapBytes: cur.rt.HeapBytes,
	}
}

// window sums up the samples from oldest to newest.
func window(oldest, newest *sample) DashboardWindow {
	d := delta(oldest, newest)
	return DashboardWindow{
		Seconds: round3(d.seconds), Completed: d.completed, CompletedPerSec: d.rate(d.completed),
		Rejected: d.rejected, Errors: d.errors,
		RunSampled: d.runSampled, RunMeanMs: d.runMean, WaitSampled: d.waitSampled, WaitMeanMs: d.waitMean,
		RunP50Ms:  percentileBetween(oldest.st.RunTime, newest.st.RunTime, 0.50),
		RunP99Ms:  percentileBetween(oldest.st.RunTime, newest.st.RunTime, 0.99),
		WaitP50Ms: percentileBetween(oldest.st.WaitTime, newest.st.WaitTime, 0.50),
		WaitP99Ms: percentileBetween(oldest.st.WaitTime, newest.st.WaitTime, 0.99),
	}
}

// percentileBetween returns, in milliseconds, the upper bound of the
// bucket that holds the q-th percentile of the samples b has beyond a, or
// b's Max when it lies beyond the last bound; 0 without samples.
func percentileBetween(a, b pool.Latency, q float64) float64 {
	n := sub(b.Count, a.Count)
	if n == 0 || len(b.Buckets) == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	for i, bk := range b.Buckets {
		var before uint64
		if i < len(a.Buckets) {
			before = a.Buckets[i].Count
		}
		if sub(bk.Count, before) >= rank {
			return ms(bk.UpperBound)
		}
	}
	return ms(b.Max)
}

// change is what happened between two samples.
type change struct {
	seconds                     float64
	completed, rejected, errors uint64
	runSampled, waitSampled     uint64
	runMean, waitMean           float64 // milliseconds
}

func delta(a, b *sample) change {
	c := change{
		seconds:   b.at.Sub(a.at).Seconds(),
		completed: sub(b.st.Completed, a.st.Completed),
		rejected:  sub(b.st.Rejected, a.st.Rejected),
		errors: sub(b.st.Failed+b.st.Panicked+b.st.TimedOut,
			a.st.Failed+a.st.Panicked+a.st.TimedOut),
	}
	c.runSampled, c.runMean = meanBetween(a.st.RunTime, b.st.RunTime)
	c.waitSampled, c.waitMean = meanBetween(a.st.WaitTime, b.st.WaitTime)
	return c
}

// rate returns n per second of c, to three decimals.
func (c change) rate(n uint64) float64 {
	if c.seconds <= 0 {
		return 0
	}
	return round3(float64(n) / c.seconds)
}

// meanBetween returns how many samples b has beyond a, and their mean in
// milliseconds, from the two counts and sums.
func meanBetween(a, b pool.Latency) (uint64, float64) {
	n := sub(b.Count, a.Count)
	if n == 0 {
		return 0, 0
	}
	sum := max(b.Sum-a.Sum, 0)
	return n, ms(sum / time.Duration(n))
}

// sub returns a - b, or 0 when b is larger.
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func round3(f float64) float64 { return math.Round(f*1e3) / 1e3 }
