//go:build unix

package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMeasureCapacityCleanup(t *testing.T) {
	t.Run("an overloaded machine leaves no server process behind", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		bin, err := buildServer(ctx, t.TempDir())
		require.NoError(t, err)
		var pids []int
		capacityOf = func(_ config, r *running) float64 {
			for _, st := range r.m.Status() {
				pids = append(pids, st.PID)
			}
			return 0 // as on a machine too busy to serve anything
		}
		t.Cleanup(func() { capacityOf = capacity })
		cluster := pick(setups(2, 4, 2), []string{"cluster"})[0]
		_, err = measureCapacity(ctx, config{clients: 1, workers: 2}, cluster, bin)
		require.ErrorContains(t, err, "overloaded")
		require.Len(t, pids, 2)
		for _, pid := range pids {
			require.NotZero(t, pid)
			require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "process %d is still running", pid)
		}
	})
}
