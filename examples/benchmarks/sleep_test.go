package benchmarks_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/examples/benchmarks"
	"github.com/stretchr/testify/require"
)

// sleepChildEnv names the pool that a child process of BenchmarkP7Sleep
// runs the workload on (see TestMain).
const sleepChildEnv = "CREW_P7_CHILD"

// sleepChild runs the P7 workload on the pool named name, with the size in
// the environment, and prints its wall time in nanoseconds and the most
// goroutines it saw at once.
func sleepChild(name string) int {
	impl, ok := benchmarks.Lookup(name)
	size, err := benchmarks.ParseSleepSize(os.Getenv)
	if !ok || err != nil {
		fmt.Fprintf(os.Stderr, "benchmarks: P7 child: pool %q, %v\n", name, err)
		return 2
	}
	peak := benchmarks.WatchGoroutines(time.Millisecond)
	wall, err := benchmarks.RunSleep(impl, size)
	most := peak()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(int64(wall), most)
	return 0
}

// sleepRun is what one child process measured.
type sleepRun struct {
	wall       time.Duration
	cpu        time.Duration // user + system
	rss        int64         // peak resident set, bytes
	goroutines int           // the most at once, sampled every millisecond
}

// runSleepChild runs the P7 workload on the pool named name in a child
// process (this test binary, see TestMain) and waits for it to exit.
func runSleepChild(ctx context.Context, name string, size benchmarks.SleepSize) (sleepRun, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(append(os.Environ(), sleepChildEnv+"="+name), size.Env()...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return sleepRun{}, fmt.Errorf("P7 child for %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	var ns int64
	var most int
	if _, err := fmt.Sscan(stdout.String(), &ns, &most); err != nil {
		return sleepRun{}, fmt.Errorf("P7 child for %s printed %q: %w", name, stdout.String(), err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sleepRun{
		wall:       time.Duration(ns),
		cpu:        time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		rss:        ru.Maxrss * 1024, // kilobytes on Linux
		goroutines: most,
	}, nil
}

// BenchmarkP7Sleep is target P7: Tasks tasks sleeping Sleep on Workers
// workers (SmallSleep by default, FullSleep with CREW_P7=full), each pool
// in a child process of its own. One op is one whole run; it reports the
// wall time, the CPU time (user + system) per task and the peak RSS of
// the child. Targets: crew's wall time and peak RSS at most those of plain
// goroutines, its CPU per task at most 1.2x the channel pool's.
//
//	CREW_P7=full go test -run '^$' -bench P7 -benchtime 1x -count 3 -timeout 30m .
func BenchmarkP7Sleep(b *testing.B) {
	size := benchmarks.SleepSizeFromEnv()
	for _, impl := range benchmarks.Impls() {
		b.Run(impl.Name, func(b *testing.B) {
			var sum sleepRun
			for range b.N {
				r, err := runSleepChild(b.Context(), impl.Name, size)
				if err != nil {
					b.Fatal(err)
				}
				sum.wall += r.wall
				sum.cpu += r.cpu
				sum.rss = max(sum.rss, r.rss)
				sum.goroutines = max(sum.goroutines, r.goroutines)
			}
			n := float64(b.N)
			b.ReportMetric(float64(sum.wall.Milliseconds())/n, "wall-ms")
			b.ReportMetric(float64(sum.cpu.Nanoseconds())/n/float64(size.Tasks), "cpu-ns/task")
			b.ReportMetric(float64(sum.rss)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(sum.goroutines), "peak-goroutines")
		})
	}
}

func TestSleepChild(t *testing.T) {
	size := benchmarks.SleepSize{Tasks: 200, Workers: 20, Sleep: 5 * time.Millisecond}
	t.Run("a child runs the workload and reports its wall time and usage", func(t *testing.T) {
		r, err := runSleepChild(t.Context(), "crew", size)
		require.NoError(t, err)
		// 200 tasks of 5ms on 20 workers take 10 rounds of 5ms at least.
		require.GreaterOrEqual(t, r.wall, 50*time.Millisecond)
		require.Positive(t, r.cpu)
		require.Positive(t, r.rss)
		// 20 workers, and the producer, at least: more for the
		// goroutines the test binary keeps.
		require.GreaterOrEqual(t, r.goroutines, 21)
	})
	t.Run("a child given an unknown pool fails", func(t *testing.T) {
		_, err := runSleepChild(t.Context(), "no-such-pool", size)
		require.ErrorContains(t, err, `pool "no-such-pool"`)
	})
	t.Run("every pool runs every sleeping task", func(t *testing.T) {
		for _, impl := range benchmarks.Impls() {
			wall, err := benchmarks.RunSleep(impl, benchmarks.SleepSize{Tasks: 40, Workers: 4, Sleep: time.Millisecond})
			require.NoError(t, err)
			// 40 tasks of 1ms on 4 workers: 10 rounds, unless a pool ran
			// more than 4 at once (plain goroutines do, by design).
			if impl.Name != "goroutines" {
				require.GreaterOrEqual(t, wall, 10*time.Millisecond, impl.Name)
			}
		}
	})
}

func TestCrewStartsWorkersOnDemand(t *testing.T) {
	t.Run("a crew pool of many workers starts one per processor at once", func(t *testing.T) {
		impl, ok := benchmarks.Lookup("crew")
		require.True(t, ok)
		before := runtime.NumGoroutine()
		p := impl.New(1000)
		started := runtime.NumGoroutine() - before
		p.Close()
		require.LessOrEqual(t, started, benchmarks.Workers())
	})
}

func TestParseSleepSize(t *testing.T) {
	t.Run("a size survives the trip through the environment", func(t *testing.T) {
		env := map[string]string{}
		for _, kv := range benchmarks.FullSleep.Env() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		got, err := benchmarks.ParseSleepSize(func(k string) string { return env[k] })
		require.NoError(t, err)
		require.Equal(t, benchmarks.FullSleep, got)
	})
	t.Run("a missing count is an error that names it", func(t *testing.T) {
		_, err := benchmarks.ParseSleepSize(func(string) string { return "" })
		require.ErrorContains(t, err, "CREW_P7_TASKS")
	})
}

func TestWatchGoroutines(t *testing.T) {
	t.Run("the watcher reports the most goroutines alive at once, after they ended", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			stop := benchmarks.WatchGoroutines(time.Millisecond)
			block := make(chan struct{})
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() { <-block })
			}
			time.Sleep(5 * time.Millisecond)
			close(block)
			wg.Wait()
			time.Sleep(5 * time.Millisecond)
			most := stop()
			require.GreaterOrEqual(t, most, 100)
			require.Less(t, runtime.NumGoroutine(), most, "goroutines now, against the most seen")
		})
	})
}
