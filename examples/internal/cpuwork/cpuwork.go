// Package cpuwork is the pure computation behind the example server's
// /api/digest endpoint and the load benchmark: iterated SHA-256, whose cost
// is linear in its number of rounds and which allocates nothing.
package cpuwork

import (
	"context"
	"crypto/sha256"
	"time"
)

// MaxRounds bounds the rounds a request may ask for (about a second of CPU).
const MaxRounds = 2_000_000

// checkEvery is how many rounds Digest runs between looks at its context.
const checkEvery = 1024

// Digest hashes seed, then hashes the result rounds-1 more times. It returns
// ctx.Err() if ctx ends before it is done; it looks at ctx every 1024 rounds.
func Digest(ctx context.Context, seed []byte, rounds int) ([sha256.Size]byte, error) {
	sum := sha256.Sum256(seed)
	for i := 1; i < rounds; i++ {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
		}
		sum = sha256.Sum256(sum[:])
	}
	return sum, nil
}

// Calibrate returns the number of Digest rounds that take about target on
// this machine, measured on the calling goroutine; it runs for about 20
// times target.
func Calibrate(target time.Duration) int {
	const probe = 20_000
	best := time.Duration(1<<63 - 1)
	for range 5 {
		start := time.Now()
		_, _ = Digest(context.Background(), []byte("calibrate"), probe)
		best = min(best, time.Since(start))
	}
	return max(1, int(float64(probe)*float64(target)/float64(best)))
}
