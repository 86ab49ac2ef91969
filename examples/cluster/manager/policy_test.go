package manager_test

import (
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/manager"
	"github.com/stretchr/testify/require"
)

func TestPolicyNext(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d ...time.Duration) []time.Time {
		var ts []time.Time
		for _, x := range d {
			ts = append(ts, now.Add(-x))
		}
		return ts
	}
	p := manager.Policy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxRestarts: 5, Period: time.Minute}
	for _, tc := range []struct {
		name   string
		policy manager.Policy
		recent []time.Time
		delay  time.Duration
		ok     bool
	}{
		{"the first restart waits InitialBackoff", p, nil, 100 * time.Millisecond, true},
		{"each recent restart doubles the delay", p, ago(time.Second, 2*time.Second), 400 * time.Millisecond, true},
		{"the delay is capped at MaxBackoff", p, ago(1, 2, 3, 4), time.Second, true},
		{"restarts older than Period are forgotten", p, ago(2*time.Minute, 3*time.Minute, 4*time.Minute, 5*time.Minute, 6*time.Minute), 100 * time.Millisecond, true},
		{"MaxRestarts within Period gives up", p, ago(1, 2, 3, 4, 5), 0, false},
		{"a negative MaxRestarts never gives up", manager.Policy{MaxRestarts: -1, MaxBackoff: time.Hour}, ago(make([]time.Duration, 40)...), time.Hour, true},
		{"the zero policy means the defaults", manager.Policy{}, nil, manager.DefaultInitialBackoff, true},
		{"the zero policy gives up after DefaultMaxRestarts", manager.Policy{}, ago(1, 2, 3, 4, 5), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			delay, history, ok := tc.policy.Next(tc.recent, now)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.delay, delay)
			if ok {
				require.Equal(t, now, history[len(history)-1], "the restart is remembered")
			}
		})
	}
	t.Run("a child that stays up longer than Period starts again from InitialBackoff", func(t *testing.T) {
		var recent []time.Time
		var delays []time.Duration
		at := now
		for _, gap := range []time.Duration{0, time.Second, time.Second, 2 * time.Minute} {
			at = at.Add(gap)
			d, h, ok := p.Next(recent, at)
			require.True(t, ok)
			recent, delays = h, append(delays, d)
		}
		require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 100 * time.Millisecond}, delays)
	})
}
