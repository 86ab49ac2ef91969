package pool_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// TestWatchdogAcrossTasks covers the hung watchdog's timer, which is armed
// when a slot has none pending rather than for every task: whatever the
// tasks before it did, a task that ignores its ctx is declared hung exactly
// TaskTimeout+HungGrace after it started, and one that ends before that is
// not.
func TestWatchdogAcrossTasks(t *testing.T) {
	const timeout, grace = time.Second, 2 * time.Second
	// hangPool runs tasks that return at once for n >= 0, and for n < 0
	// ignore their ctx until release is closed or -n milliseconds passed.
	hangPool := func(t *testing.T, release chan struct{}) *pool.Pool[int, int] {
		return newPool(t, func(ctx context.Context, n int) (int, error) {
			if n < 0 {
				select {
				case <-release:
				case <-time.After(time.Duration(-n) * time.Millisecond):
				}
			}
			return n, nil
		}, pool.Options{Name: "w", MaxWorkers: 1, TaskTimeout: timeout, HungGrace: grace})
	}
	const forever = -1_000_000_000

	for _, tc := range []struct {
		name string
		idle time.Duration // between the quick task and the hanging one
	}{
		{"a task that hangs while the timer armed for an earlier task is pending is declared hung at its own limit", 2500 * time.Millisecond},
		{"a task that hangs after the timer fired for an earlier task and disarmed is declared hung at its limit", 5 * time.Second},
		{"a task that hangs right after a quick one is declared hung at its limit", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				p := hangPool(t, release)
				for i := range 3 {
					out, err := p.Run(bg, i)
					require.NoError(t, err)
					require.Equal(t, i, out)
				}
				time.Sleep(tc.idle)
				start := time.Now()
				_, err := p.Run(bg, forever)
				require.Equal(t, timeout+grace, time.Since(start))
				require.ErrorIs(t, err, pool.ErrTimeout)
				require.ErrorContains(t, err, `pool "w": worker 1 hung`)
				require.Equal(t, uint64(1), p.Stats().HungTotal)
				close(release)
			})
		})
	}

	t.Run("a slow task that ends just before its limit, while an earlier task's timer fires, is not hung", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p := hangPool(t, release)
			_, err := p.Run(bg, 0)
			require.NoError(t, err)
			time.Sleep(timeout + grace - time.Millisecond)
			// The timer armed for the first task fires 1 ms into this one.
			slow := -int((timeout + grace - time.Millisecond) / time.Millisecond)
			out, err := p.Run(bg, slow)
			require.NoError(t, err)
			require.Equal(t, slow, out)
			st := p.Stats()
			require.Zero(t, st.HungTotal)
			require.Equal(t, uint64(2), st.Completed)
			// The watchdog still watches: the next hanging task is caught.
			start := time.Now()
			_, err = p.Run(bg, forever)
			require.ErrorIs(t, err, pool.ErrTimeout)
			require.Equal(t, timeout+grace, time.Since(start))
			close(release)
		})
	})
}
