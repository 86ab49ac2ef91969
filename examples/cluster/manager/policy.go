package manager

import "time"

// Next decides the restart of a child that crashed at now, given the times
// of its earlier restarts. It returns the delay before the restart and the
// restart times to remember, now included, or ok false when the child has
// already been restarted MaxRestarts times within Period and the manager
// should give up. Next does not modify recent. The zero Policy means the
// defaults of its fields.
func (p Policy) Next(recent []time.Time, now time.Time) (delay time.Duration, history []time.Time, ok bool) {
	p = p.withDefaults()
	for _, t := range recent {
		if now.Sub(t) < p.Period {
			history = append(history, t)
		}
	}
	if p.MaxRestarts >= 0 && len(history) >= p.MaxRestarts {
		return 0, history, false
	}
	delay = p.InitialBackoff
	for range history {
		if delay >= p.MaxBackoff/2 {
			delay = p.MaxBackoff
			break
		}
		delay *= 2
	}
	return min(delay, p.MaxBackoff), append(history, now), true
}
