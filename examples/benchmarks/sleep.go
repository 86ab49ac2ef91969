package benchmarks

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// SleepSize is the size of the P7 workload: Tasks tasks that each sleep
// Sleep, on pools of Workers workers.
type SleepSize struct {
	Tasks   int
	Workers int
	Sleep   time.Duration
}

// FullSleep is the documented P7 size: 1M tasks of 10ms on 50,000 workers,
// the I/O-bound case that users bring to pools such as ants and workerpool.
var FullSleep = SleepSize{Tasks: 1_000_000, Workers: 50_000, Sleep: 10 * time.Millisecond}

// SmallSleep is the P7 size of a smoke run: the same shape, small enough for
// one iteration of every benchmark in CI.
var SmallSleep = SleepSize{Tasks: 20_000, Workers: 1_000, Sleep: 10 * time.Millisecond}

// SleepSizeEnv is the environment variable that picks the P7 size: "full"
// for FullSleep; unset or anything else for SmallSleep.
const SleepSizeEnv = "CREW_P7"

// SleepSizeFromEnv returns the P7 size that SleepSizeEnv asks for.
func SleepSizeFromEnv() SleepSize {
	if os.Getenv(SleepSizeEnv) == "full" {
		return FullSleep
	}
	return SmallSleep
}

// Env returns the size as environment variables that ParseSleepSize reads,
// to hand it to a child process.
func (s SleepSize) Env() []string {
	return []string{
		"CREW_P7_TASKS=" + strconv.Itoa(s.Tasks),
		"CREW_P7_WORKERS=" + strconv.Itoa(s.Workers),
		"CREW_P7_SLEEP=" + s.Sleep.String(),
	}
}

// ParseSleepSize reads the size that Env wrote, with getenv as os.Getenv.
func ParseSleepSize(getenv func(string) string) (SleepSize, error) {
	var s SleepSize
	var err error
	if s.Tasks, err = strconv.Atoi(getenv("CREW_P7_TASKS")); err != nil || s.Tasks < 1 {
		return s, fmt.Errorf("benchmarks: CREW_P7_TASKS must be a count >= 1, got %q", getenv("CREW_P7_TASKS"))
	}
	if s.Workers, err = strconv.Atoi(getenv("CREW_P7_WORKERS")); err != nil || s.Workers < 1 {
		return s, fmt.Errorf("benchmarks: CREW_P7_WORKERS must be a count >= 1, got %q", getenv("CREW_P7_WORKERS"))
	}
	if s.Sleep, err = time.ParseDuration(getenv("CREW_P7_SLEEP")); err != nil || s.Sleep < 0 {
		return s, fmt.Errorf("benchmarks: CREW_P7_SLEEP must be a duration >= 0, got %q", getenv("CREW_P7_SLEEP"))
	}
	return s, nil
}

// Lookup returns the Impl named name.
func Lookup(name string) (Impl, bool) {
	for _, impl := range Impls() {
		if impl.Name == name {
			return impl, true
		}
	}
	return Impl{}, false
}

// RunSleep runs the P7 workload of the given size on a fresh pool of impl
// and returns the wall time from building the pool to its Close returning.
// One producer queues every task with Go; a pool with only request/reply
// (Impl.Sync) is driven by one caller per worker instead. It returns an
// error if Close returned before every task had run once.
func RunSleep(impl Impl, size SleepSize) (time.Duration, error) {
	var ran atomic.Int64
	task := func() { time.Sleep(size.Sleep); ran.Add(1) }
	start := time.Now()
	p := impl.New(size.Workers)
	if impl.Sync {
		var wg sync.WaitGroup
		for c := range size.Workers {
			wg.Go(func() {
				call := p.Caller()
				for i := c; i < size.Tasks; i += size.Workers {
					call(task)
				}
			})
		}
		wg.Wait()
	} else {
		for range size.Tasks {
			p.Go(task)
		}
	}
	p.Close()
	wall := time.Since(start)
	if n := ran.Load(); n != int64(size.Tasks) {
		return wall, fmt.Errorf("benchmarks: %s ran %d of %d sleeping tasks", impl.Name, n, size.Tasks)
	}
	return wall, nil
}

// WatchGoroutines samples runtime.NumGoroutine every interval until the
// returned function is called, which stops the sampling and returns the
// most goroutines seen at once, the sampler's own excluded.
func WatchGoroutines(interval time.Duration) (stop func() int) {
	most := runtime.NumGoroutine()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				most = max(most, runtime.NumGoroutine()-1)
			}
		}
	}()
	return func() int {
		close(done)
		<-finished
		return most
	}
}
