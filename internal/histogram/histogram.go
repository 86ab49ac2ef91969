// Package histogram records durations in a fixed-size, lock-free, log-linear
// histogram, cheap enough to update on every task.
//
// Values are grouped by their power of two and, within it, by the next
// [subBits] bits, so a reported percentile is within 1/2^subBits (12.5%) of
// the true value. Recording is one atomic add on a bucket plus, rarely, a CAS
// on the maximum; reading sums the buckets without stopping writers.
package histogram

import (
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	subBits    = 3
	subBuckets = 1 << subBits
	numBuckets = (64 - subBits + 1) * subBuckets
)

// Histogram is a concurrent histogram of durations. The zero value is empty
// and ready to use. It must not be copied after first use.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

// Record adds one observation. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[index(v)].Add(1)
	h.sum.Add(v)
	h.raiseMax(v)
}

// raiseMax makes the maximum at least v.
func (h *Histogram) raiseMax(v uint64) {
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// index maps a value to its bucket. Values below subBuckets get a bucket of
// their own; above, each power of two is split into subBuckets buckets.
func index(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - 1 // position of the leading bit, >= subBits
	sub := (v >> (e - subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + int(sub)
}

// lowerBound is the smallest value that maps to bucket i.
func lowerBound(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/subBuckets + subBits - 1
	sub := uint64(i % subBuckets)
	return (1 << e) | sub<<(e-subBits)
}

// Snapshot is a point-in-time copy of a Histogram that can be merged with
// others and queried for percentiles.
type Snapshot struct {
	counts [numBuckets]uint64
	n      uint64
	sum    uint64
	max    uint64
}

// Snapshot copies the histogram. Writers are not stopped, so a snapshot taken
// during updates may miss the newest observations but never double-counts.
func (h *Histogram) Snapshot() Snapshot {
	var s Snapshot
	h.AddTo(&s)
	return s
}

// AddTo adds the histogram's current contents to s.
func (h *Histogram) AddTo(s *Snapshot) {
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] += c
		s.n += c
	}
	s.sum += h.sum.Load()
	s.max = max(s.max, h.max.Load())
}

// Merge adds o into s.
func (s *Snapshot) Merge(o *Snapshot) {
	for i := range o.counts {
		s.counts[i] += o.counts[i]
	}
	s.n += o.n
	s.sum += o.sum
	s.max = max(s.max, o.max)
}

// Sum is the total of the observations, exact.
func (s *Snapshot) Sum() time.Duration { return time.Duration(s.sum) }

// CountsAtMost returns, for each of bounds (ascending), how many
// observations are at most that bound, within the histogram's resolution:
// a bucket counts toward a bound when its middle is at most the bound. The
// counts are cumulative, as Prometheus histogram buckets are.
func (s *Snapshot) CountsAtMost(bounds []time.Duration) []uint64 {
	out := make([]uint64, len(bounds))
	b, seen := 0, uint64(0)
	for i, c := range s.counts {
		lo := lowerBound(i)
		mid := lo
		if i+1 < numBuckets {
			mid = lo + (lowerBound(i+1)-1-lo)/2
		}
		for b < len(bounds) && uint64(max(bounds[b], 0)) < mid {
			out[b] = seen
			b++
		}
		seen += c
	}
	for ; b < len(bounds); b++ {
		out[b] = seen
	}
	return out
}

// Count is the number of observations.
func (s *Snapshot) Count() uint64 { return s.n }

// Max is the largest observation, exact.
func (s *Snapshot) Max() time.Duration { return time.Duration(s.max) }

// Mean is the average observation, or zero when there is none.
func (s *Snapshot) Mean() time.Duration {
	if s.n == 0 {
		return 0
	}
	return time.Duration(s.sum / s.n)
}

// Percentile returns the value below which a fraction q (0 <= q <= 1) of the
// observations fall, within the histogram's resolution and never above Max.
// It returns zero when there are no observations.
func (s *Snapshot) Percentile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := uint64(q*float64(s.n) + 0.5)
	rank = min(max(rank, 1), s.n)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			// Report the middle of the bucket, capped by the true maximum.
			lo := lowerBound(i)
			hi := lo
			if i+1 < numBuckets {
				hi = lowerBound(i+1) - 1
			}
			return time.Duration(min(lo+(hi-lo)/2, s.max))
		}
	}
	return time.Duration(s.max)
}

// AddFrom adds o's current contents to h. Neither is stopped; o should not
// be written concurrently if an exact copy matters.
func (h *Histogram) AddFrom(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.sum.Add(o.sum.Load())
	h.raiseMax(o.max.Load())
}
