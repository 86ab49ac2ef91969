package proc_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewkit/crew/internal/pipebench"
	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

// square is the tiny task of target P8.
func square(_ context.Context, n int) (int, error) { return n * n, nil }

// spinTask does a fixed amount of CPU work, n thousand steps of a
// dependent multiply-add chain (n = 3000 takes about 1 ms on this
// project's machines when they are idle), and returns a value derived
// from it. It
// counts work, not wall time, so that a task descheduled by a loaded
// machine does not finish early.
func spinTask(_ context.Context, n int) (int, error) {
	x := uint64(n)
	for range n * 1000 {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return int(x >> 63), nil
}

// BenchmarkP8Tiny: one caller runs a tiny task (square an int) through one
// process worker, as target P8. Baselines in the same binary: "pipe" is a
// hand-written request/reply with the same child over a pipe pair with
// 4-byte length-prefixed frames and an 8-byte body, the floor for any
// process worker; "goroutine" is a pool of one goroutine worker. One op
// is one task.
func BenchmarkP8Tiny(b *testing.B) {
	b.Run("pipe", func(b *testing.B) {
		b.ReportAllocs()
		call, stop := startPipe(b)
		defer stop()
		b.ResetTimer()
		for i := range b.N {
			if call(i) != i*i {
				b.Fatal("wrong result")
			}
		}
	})
	b.Run("proc", func(b *testing.B) {
		b.ReportAllocs()
		p, err := pool.New(proc.Factory[int, int](proc.Self("square"), proc.Options{}), pool.Options{MaxWorkers: 1, MinWorkers: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		runTiny(b, p)
	})
	b.Run("proc-handle", func(b *testing.B) { // the worker alone, without the pool
		b.ReportAllocs()
		w, err := proc.Factory[int, int](proc.Self("square"), proc.Options{})(context.Background(), pool.WorkerInfo{ID: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer w.(interface{ Close(context.Context) error }).Close(context.Background())
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if out, err := w.Handle(ctx, i); err != nil || out != i*i {
				b.Fatal(out, err)
			}
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		b.ReportAllocs()
		p, err := pool.NewFunc(square, pool.Options{MaxWorkers: 1, MinWorkers: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		runTiny(b, p)
	})
}

// BenchmarkP8Ratio alternates the round trips of BenchmarkP8Tiny's "pipe"
// and "proc" in the same loop, so that both see the same load on a shared
// machine, and reports the time of a process worker's round trip over the
// hand-written one's as proc/pipe. One op is one round trip of each.
func BenchmarkP8Ratio(b *testing.B) {
	b.ReportAllocs()
	call, stop := startPipe(b)
	defer stop()
	p, err := pool.New(proc.Factory[int, int](proc.Self("square"), proc.Options{}), pool.Options{MaxWorkers: 1, MinWorkers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	if _, err := p.Run(ctx, 1); err != nil {
		b.Fatal(err)
	}
	call(1)
	var pipe, procT time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if call(i) != i*i {
			b.Fatal("wrong result")
		}
		t1 := time.Now()
		if out, err := p.Run(ctx, i); err != nil || out != i*i {
			b.Fatal(out, err)
		}
		pipe, procT = pipe+t1.Sub(t0), procT+time.Since(t1)
	}
	b.ReportMetric(float64(procT)/float64(pipe), "proc/pipe")
}

func runTiny(b *testing.B, p *pool.Pool[int, int]) {
	ctx := context.Background()
	if _, err := p.Run(ctx, 1); err != nil { // wait for the worker
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if out, err := p.Run(ctx, i); err != nil || out != i*i {
			b.Fatal(out, err)
		}
	}
}

// startPipe starts this binary as the hand-written "pipe-square" child and
// returns a function that sends it n and reads back its answer.
func startPipe(b *testing.B) (call func(int) int, stop func()) {
	return pipebench.Start(b, proc.Self("pipe-square")())
}

// cpuPools starts the two pools of BenchmarkCPU1ms: 2 goroutine workers
// and 2 process workers, each with a warm worker per slot.
func cpuPools(b *testing.B) (gor, prc *pool.Pool[int, int]) {
	opts := pool.Options{MaxWorkers: 2, MinWorkers: 2, QueueSize: 64}
	gor, err := pool.NewFunc(spinTask, opts)
	if err != nil {
		b.Fatal(err)
	}
	prc, err = pool.New(proc.Factory[int, int](proc.Self("spin"), proc.Options{}), opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []*pool.Pool[int, int]{gor, prc} {
		for range 2 {
			if _, err := p.Run(context.Background(), 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	return gor, prc
}

// spinBatch runs n tasks of about 1 ms of CPU (spinTask(3000)) on p from
// 8 callers and returns how long they took.
func spinBatch(p *pool.Pool[int, int], n int) time.Duration {
	const callers = 8
	start := time.Now()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := c; i < n; i += callers {
				if _, err := p.Run(context.Background(), 3000); err != nil {
					panic(err)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkSpinTask: one task of BenchmarkCPU1ms on the caller's
// goroutine, to tell how long its work takes here. One op is one task.
func BenchmarkSpinTask(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		_, _ = spinTask(context.Background(), 3000)
	}
}

// BenchmarkCPU1ms: tasks of about 1 ms of CPU from 8 concurrent callers on
// 2 workers, goroutine workers against process workers. The pools take
// turns, a batch of 50 tasks each, so that both see the same load on a
// shared machine; it reports the process pool's throughput over the
// goroutine pool's as proc/goroutine. One op is one task on each pool.
func BenchmarkCPU1ms(b *testing.B) {
	b.ReportAllocs()
	gor, prc := cpuPools(b)
	defer gor.Close(context.Background())
	defer prc.Close(context.Background())
	const batch = 50
	var tg, tp time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		tg += spinBatch(gor, n)
		tp += spinBatch(prc, n)
	}
	b.ReportMetric(float64(tg)/float64(tp), "proc/goroutine")
}

// BenchmarkStartup: the time from pool.New with MinWorkers 2 to the first
// result, with the separate worker binary of ExampleFactory; goroutine
// workers are the baseline. It also reports the resident memory of each
// child once it has run a task (rss-bytes/worker). One op is one pool.
func BenchmarkStartup(b *testing.B) {
	b.Run("goroutine", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p, err := pool.NewFunc(func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil },
				pool.Options{MaxWorkers: 2, MinWorkers: 2})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Run(context.Background(), "x"); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = p.Close(context.Background())
			b.StartTimer()
		}
	})
	b.Run("proc", func(b *testing.B) {
		b.ReportAllocs()
		var rss, n int64
		for range b.N {
			p, err := pool.New(proc.Factory[string, string](func() *exec.Cmd { return exec.Command(upperBin) }, proc.Options{}),
				pool.Options{MaxWorkers: 2, MinWorkers: 2})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Run(context.Background(), "x"); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, pid := range childrenOf(os.Getpid()) {
				if v := vmRSS(pid); v > 0 {
					rss, n = rss+v, n+1
				}
			}
			_ = p.Close(context.Background())
			b.StartTimer()
		}
		if n > 0 {
			b.ReportMetric(float64(rss/n), "rss-bytes/worker")
		}
	})
}

// childrenOf lists the processes whose parent is ppid.
func childrenOf(ppid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
			pids = append(pids, pid)
		}
	}
	return pids
}

// vmRSS returns the VmRSS of pid in bytes, 0 when unknown.
func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
