package cpuwork_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/internal/cpuwork"
	"github.com/stretchr/testify/require"
)

func TestDigest(t *testing.T) {
	t.Run("one round is the SHA-256 of the seed", func(t *testing.T) {
		sum, err := cpuwork.Digest(context.Background(), []byte("abc"), 1)
		require.NoError(t, err)
		require.Equal(t, sha256.Sum256([]byte("abc")), sum)
	})

	t.Run("two rounds hash the first sum again", func(t *testing.T) {
		first := sha256.Sum256([]byte("abc"))
		sum, err := cpuwork.Digest(context.Background(), []byte("abc"), 2)
		require.NoError(t, err)
		require.Equal(t, sha256.Sum256(first[:]), sum)
	})

	t.Run("a cancelled context stops the work", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := cpuwork.Digest(ctx, []byte("abc"), cpuwork.MaxRounds)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestCalibrate(t *testing.T) {
	t.Run("calibration returns at least one round", func(t *testing.T) {
		require.GreaterOrEqual(t, cpuwork.Calibrate(time.Microsecond), 1)
	})
}

func BenchmarkDigest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = cpuwork.Digest(context.Background(), []byte("bench"), 1000)
	}
}
