package histogram

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIndexIsMonotonicAndInvertible(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1, 1<<64 - 1} {
		i := index(v)
		require.GreaterOrEqual(t, i, prev, "value %d", v)
		require.Less(t, i, numBuckets)
		require.LessOrEqual(t, lowerBound(i), v, "value %d bucket %d", v, i)
		if i+1 < numBuckets {
			require.Greater(t, lowerBound(i+1), v, "value %d bucket %d", v, i)
		}
		prev = i
	}
}

func TestPercentilesAreWithinResolution(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(r.Int64N(int64(10 * time.Millisecond)))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.Snapshot()
	require.Equal(t, uint64(len(vals)), s.Count())
	require.Equal(t, vals[len(vals)-1], s.Max())
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := float64(vals[int(q*float64(len(vals)))-1])
		got := float64(s.Percentile(q))
		require.InEpsilon(t, want, got, 0.13, "q=%v", q)
	}
}

func TestEmptySnapshotReportsZero(t *testing.T) {
	var s Snapshot
	require.Zero(t, s.Percentile(0.99))
	require.Zero(t, s.Mean())
	require.Zero(t, s.Max())
}

func TestNegativeDurationsCountAsZero(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	s := h.Snapshot()
	require.Equal(t, uint64(1), s.Count())
	require.Zero(t, s.Percentile(1))
}

func TestConcurrentRecordAndMerge(t *testing.T) {
	var a, b Histogram
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			h := &a
			if g%2 == 1 {
				h = &b
			}
			for i := range 1000 {
				h.Record(time.Duration(i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	s := a.Snapshot()
	sb := b.Snapshot()
	s.Merge(&sb)
	require.Equal(t, uint64(4000), s.Count())
	require.Equal(t, 999*time.Microsecond, s.Max())
	require.InEpsilon(t, float64(500*time.Microsecond), float64(s.Percentile(0.5)), 0.13)
}

func BenchmarkRecord(b *testing.B) {
	b.ReportAllocs()
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i))
	}
}

func TestCountsAtMostAreCumulativeWithinResolution(t *testing.T) {
	var h Histogram
	var want time.Duration
	for _, d := range []time.Duration{time.Microsecond, 3 * time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond, 2 * time.Second} {
		h.Record(d)
		want += d
	}
	s := h.Snapshot()
	require.Equal(t, want, s.Sum())
	bounds := []time.Duration{0, 10 * time.Microsecond, 2 * time.Millisecond, 5 * time.Millisecond, 50 * time.Millisecond, time.Second, time.Minute}
	require.Equal(t, []uint64{0, 1, 1, 3, 4, 4, 5}, s.CountsAtMost(bounds))
	t.Run("a bound within a bucket's resolution may fall either side", func(t *testing.T) {
		var h Histogram
		h.Record(100 * time.Millisecond)
		s := h.Snapshot()
		require.Equal(t, []uint64{0, 1}, s.CountsAtMost([]time.Duration{88 * time.Millisecond, 113 * time.Millisecond}))
	})
}
