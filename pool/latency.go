package pool

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/crewkit/crew/internal/histogram"
)

// Latency sampling. Reading the clock costs more than dispatching a tiny
// task, so the pool times every task until it has timed warmSamples of
// them, then one task in sampleEvery, picked by a hash of a number that
// changes from one task to the next. The count is pool-wide and the
// samples go to a few shared histograms (latShards), so the cost of
// sampling and the memory it takes do not grow with the number of workers:
// a pool of 50,000 workers that each run 20 tasks times as few of them as
// a pool of two.
const (
	sampleShift = 5
	sampleEvery = 1 << sampleShift
	warmSamples = 256
	maxShards   = lenders // a slot's shard is its lenders entry, modulo the shard count
)

// latShard is one of a pool's latency histograms. Slots share them: slot s
// records into shard s.offerAt % len, so that workers on different
// processors rarely write to the same one.
type latShard struct {
	run, wait histogram.Histogram
	runNanos  atomic.Uint64 // run time of the sampled tasks, times their weight
	_         [64]byte      // keeps the next shard's first buckets off this cache line
}

// latency is a pool's sampling state and its histograms.
type latency struct {
	warm    atomic.Bool   // the pool has timed warmSamples tasks
	sampled atomic.Uint64 // tasks timed while not warm
	shards  []latShard    // a power of two of them
}

// newLatency returns the histograms of a pool of at most workers workers:
// one shard per processor, at most one per worker and at most maxShards.
func newLatency(workers int) latency {
	n := min(runtime.GOMAXPROCS(0), workers, maxShards)
	n = 1 << bits.Len(uint(max(n, 1)-1)) // round up to a power of two
	return latency{shards: make([]latShard, n)}
}

// shard returns the histograms that a slot whose lenders entry is at
// records into.
func (l *latency) shard(at uint32) *latShard {
	return &l.shards[at&uint32(len(l.shards)-1)]
}

// sampledOne counts a timed task while the pool is not warm yet.
func (l *latency) sampledOne() {
	if !l.warm.Load() && l.sampled.Add(1) >= warmSamples {
		l.warm.Store(true)
	}
}

// now returns the enqueue timestamp of a task to be sampled, or 0. seq is a
// number that changes from one task to the next, such as the queue's
// position (ring.Seq); the top bits of its Fibonacci hash pick one task in
// sampleEvery, spread evenly and out of step with any short period in the
// workload, as a random draw would but for a fraction of its cost.
func (c *core) now(seq uint64) uint32 {
	if c.lat.warm.Load() && (seq*0x9e3779b97f4a7c15)>>(64-sampleShift) != 0 {
		return 0
	}
	return stamp(c.clock())
}

// weight is how many tasks a sample taken now stands for.
func (c *core) weight() uint64 {
	if c.lat.warm.Load() {
		return sampleEvery
	}
	return 1
}

// stamp converts a clock reading to microseconds, odd so that it is never 0,
// wrapping every 71 minutes; waits are computed modulo 2^32.
func stamp(d time.Duration) uint32 { return uint32(d/time.Microsecond) | 1 }

// snapshot sums the shards' histograms and run time.
func (l *latency) snapshot() (run, wait histogram.Snapshot, runNanos uint64) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.run.AddTo(&run)
		sh.wait.AddTo(&wait)
		runNanos += sh.runNanos.Load()
	}
	return run, wait, runNanos
}
