package pool

import (
	"math/bits"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLatencyShards(t *testing.T) {
	t.Run("a pool has a power of two of shards, at most one per processor and per worker", func(t *testing.T) {
		procs := runtime.GOMAXPROCS(0)
		for _, workers := range []int{1, 2, 3, 7, 50_000} {
			n := len(newLatency(workers).shards)
			require.Equal(t, 1, bits.OnesCount(uint(n)), "workers=%d: %d shards", workers, n)
			require.LessOrEqual(t, n, maxShards)
			require.Less(t, n, 2*min(procs, workers), "workers=%d", workers)
		}
	})
	t.Run("the memory of the histograms does not grow with the workers", func(t *testing.T) {
		require.Equal(t, len(newLatency(runtime.GOMAXPROCS(0)).shards), len(newLatency(50_000).shards))
	})
	t.Run("every lenders entry maps to a shard", func(t *testing.T) {
		l := newLatency(50_000)
		seen := map[*latShard]bool{}
		for at := range uint32(lenders) {
			seen[l.shard(at)] = true
		}
		require.Len(t, seen, len(l.shards))
	})
}
