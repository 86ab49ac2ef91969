package main

import (
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

// result returns a Result of ok successes in a second, each taking lat.
func result(ok, rejected, abandoned int, lat time.Duration) loadgen.Result {
	r := loadgen.Result{Sent: ok + rejected + abandoned, OK: ok, Rejected: rejected, Abandoned: abandoned, Elapsed: time.Second}
	for range ok {
		r.Latencies = append(r.Latencies, lat)
	}
	return r
}

func TestTable(t *testing.T) {
	cfg := config{modes: []app.Mode{app.ModePlain, app.ModeThrottle, app.ModePool}, repeat: 2,
		loads: []load{{model: loadgen.Abandon, clients: 8, abandon: 0.25}}}
	var cells []cell
	for round, f := range []int{1, 2} {
		cells = append(cells,
			cell{mode: 0, round: round, capacity: 100, res: result(100, 0, 10, 400*time.Millisecond), ran: -1},
			cell{mode: 1, round: round, capacity: 100, res: result(90, 10, 5, 100*time.Millisecond), ran: -1},
			cell{mode: 2, round: round, capacity: 100, res: result(95*f, 5, 5, time.Duration(f)*50*time.Millisecond), ran: int64(95*f + 5)},
		)
	}
	lines := strings.Split(strings.TrimSpace(table(cfg, cells)), "\n")
	require.Len(t, lines, 2+3)
	require.Len(t, strings.Split(lines[0], "|"), len(columns)+2)
	t.Run("plain and throttle cannot tell the tasks run for gone clients", func(t *testing.T) {
		require.True(t, strings.HasSuffix(lines[2], "| 0.0% | n/a |"), lines[2])
		require.Contains(t, lines[3], "| chi middleware.Throttle | 90 | 0.90 (0.90-0.90) |")
	})
	t.Run("the pool row has medians and min-max of the per-round ratios", func(t *testing.T) {
		require.Contains(t, lines[4], "| httpx.Offload (crew pool) | 142 | 1.42 (0.95-1.90) | 1.42 (0.95-1.90) |")
		require.Contains(t, lines[4], "| 75ms | 75ms | 0.19 (0.12-0.25) | 0.75 (0.50-1.00) |")
		require.Contains(t, lines[4], "| 5 (3.6%) | 0 (0.0%) | 5 | 3.8% | 5 (3.8%) |")
	})
}

func TestMedian(t *testing.T) {
	require.Zero(t, median(nil))
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 2, 3}))
	require.Equal(t, "–", spread(nil))
	require.Equal(t, "0.50", spread([]float64{0.5}))
}
