package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server and runs every setup")
	}
	t.Run("a short comparison runs end to end and draws its chart, closed loops included", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		chart := filepath.Join(t.TempDir(), "chart.svg")
		require.NoError(t, run(ctx, []string{
			"-levels=1", "-duration=300ms", "-warmup=0s", "-capacity-duration=300ms",
			"-crash-duration=600ms", "-clients=8", "-model-clients=8", "-chart=" + chart,
		}))
		svg, err := os.ReadFile(chart)
		require.NoError(t, err)
		require.Contains(t, string(svg), "<polyline")
		require.Contains(t, string(svg), "8 clients retrying at once")
	})
}
