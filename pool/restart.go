package pool

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults of RestartPolicy's zero fields.
const (
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMultiplier     = 2.0
	DefaultJitter         = 0.2
	DefaultMaxRestarts    = 100
	DefaultRestartPeriod  = 10 * time.Second
)

// RestartPolicy says how a pool rebuilds workers that crashed (a panic, an
// error marked Fatal, a hung task) or that its factory failed to build.
//
// A worker is rebuilt at once after its first failure. Further consecutive
// failures of the same slot, with no task completed in between, wait a
// capped exponential backoff: InitialBackoff, then times Multiplier per
// failure, at most MaxBackoff, each delay spread by ±Jitter of itself.
//
// Two limits end a crash loop, whichever comes first:
//
//   - intensity: more than MaxRestarts rebuilds after failures, across all
//     workers, within any Period;
//   - crash loop: one worker failing again and again with no task completed
//     in between, until the backoffs of its failures would add up to
//     Period. Backoff spaces one worker's rebuilds too far apart for the
//     intensity limit to see them (with the default policy, at most 8 in
//     10s), so this limit ends such a loop within Period of its first
//     failure, plus the time the failing factory calls or tasks take.
//
// A failed pool resolves queued and new work with ErrPoolFailed and emits a
// PoolFailed event; Close still works. Recycling (MaxTasksPerWorker), idle
// retirement and Reload are not failures and do not count. A negative
// MaxRestarts turns both limits off.
//
// The zero value is the default policy: 100ms doubling to 10s with 20%
// jitter, at most 100 restarts in 10s, and a worker that fails 8 times in a
// row (backoffs 0, 0.1s, ... 3.2s, 6.3s waited in all, the next one 6.4s)
// fails the pool.
type RestartPolicy struct {
	// InitialBackoff is the delay before the second consecutive rebuild.
	// Zero means DefaultInitialBackoff (100ms).
	InitialBackoff time.Duration
	// MaxBackoff caps the delay. Zero means DefaultMaxBackoff (10s).
	MaxBackoff time.Duration
	// Multiplier grows the delay per consecutive failure. Zero means
	// DefaultMultiplier (2); otherwise it must be >= 1.
	Multiplier float64
	// Jitter spreads each delay uniformly within ±Jitter of itself, so that
	// workers failing together do not retry together. Zero means
	// DefaultJitter (0.2); it must be in [0, 1]. Use a tiny positive value
	// such as 1e-9 for practically none.
	Jitter float64
	// MaxRestarts is the most rebuilds after failures allowed within Period.
	// Zero means DefaultMaxRestarts (100). Negative means no limit: the pool
	// never fails, it only backs off, even in a crash loop.
	MaxRestarts int
	// Period is the sliding window of MaxRestarts, and the most backoff one
	// worker in a crash loop may wait in all before the pool fails. Zero
	// means DefaultRestartPeriod (10s).
	Period time.Duration
}

func (r RestartPolicy) withDefaults() (RestartPolicy, error) {
	if err := nonNegative(
		duration("RestartPolicy.InitialBackoff", r.InitialBackoff),
		duration("RestartPolicy.MaxBackoff", r.MaxBackoff),
		duration("RestartPolicy.Period", r.Period),
	); err != nil {
		return r, err
	}
	if r.Multiplier != 0 && r.Multiplier < 1 || math.IsNaN(r.Multiplier) {
		return r, fmt.Errorf("pool: RestartPolicy.Multiplier must be >= 1, got %v", r.Multiplier)
	}
	if r.Jitter < 0 || r.Jitter > 1 || math.IsNaN(r.Jitter) {
		return r, fmt.Errorf("pool: RestartPolicy.Jitter must be in [0, 1], got %v", r.Jitter)
	}
	r.InitialBackoff = orDefault(r.InitialBackoff, DefaultInitialBackoff)
	r.MaxBackoff = orDefault(r.MaxBackoff, DefaultMaxBackoff)
	r.Period = orDefault(r.Period, DefaultRestartPeriod)
	r.MaxRestarts = orDefault(r.MaxRestarts, DefaultMaxRestarts)
	if r.Multiplier == 0 {
		r.Multiplier = DefaultMultiplier
	}
	if r.Jitter == 0 {
		r.Jitter = DefaultJitter
	}
	if r.InitialBackoff > r.MaxBackoff {
		return r, fmt.Errorf("pool: RestartPolicy.InitialBackoff (%v) must not exceed MaxBackoff (%v)", r.InitialBackoff, r.MaxBackoff)
	}
	return r, nil
}

// Backoff returns the delay before rebuilding a worker after its n-th
// consecutive failure (n >= 1), jitter included. The first failure is
// rebuilt at once. It is exported so that users can check a policy.
func (r RestartPolicy) Backoff(n int) time.Duration {
	r, err := r.withDefaults()
	if err != nil || n <= 1 {
		return 0
	}
	d := float64(r.InitialBackoff) * math.Pow(r.Multiplier, float64(n-2))
	d = min(d, float64(r.MaxBackoff))
	d *= 1 + r.Jitter*(2*rand.Float64()-1)
	return time.Duration(d)
}

// streak is a run of consecutive failures of one worker (a pool's slot or a
// thread) with no sign of health in between. Only the worker's owner uses
// it.
type streak struct {
	failures int           // in a row; the owner resets it on a sign of health
	waited   time.Duration // the backoffs decided in this run
}

// next records one more failure of a worker and returns the backoff before
// its rebuild. It reports loop when that backoff would bring the run's
// backoffs to Period: the worker is in a crash loop, which backoff alone
// would only slow down. r has its defaults.
func (s *streak) next(r RestartPolicy) (d time.Duration, loop bool) {
	if s.failures == 0 {
		s.waited = 0 // a new run: the worker was healthy since the last one
	}
	s.failures++
	d = r.Backoff(s.failures)
	s.waited += d
	return d, r.MaxRestarts >= 0 && s.waited >= r.Period
}

// loopError describes the crash loop that ended with err, as an error of
// who (a head, or "" for none).
func (s *streak) loopError(who string, r RestartPolicy, err error) error {
	what := fmt.Sprintf("crash loop: %d failures in a row, past %v of backoff", s.failures, r.Period)
	return describe(who, what, nil, err)
}

// limitError describes the restart that went past r's intensity limit,
// caused by err, as an error of who (a head).
func limitError(who string, r RestartPolicy, err error) error {
	return describe(who, fmt.Sprintf("more than %d restarts in %v", r.MaxRestarts, r.Period), nil, err)
}

// intensity is the sliding window of recent restarts.
type intensity struct {
	mu    sync.Mutex
	times []time.Time
}

// allow records a restart at now and reports whether the policy still allows
// it.
func (w *intensity) allow(r RestartPolicy, now time.Time) bool {
	if r.MaxRestarts < 0 {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	cut := 0
	for cut < len(w.times) && now.Sub(w.times[cut]) >= r.Period {
		cut++
	}
	w.times = append(w.times[:0], w.times[cut:]...)
	w.times = append(w.times, now)
	return len(w.times) <= r.MaxRestarts
}
