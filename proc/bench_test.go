package proc_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

// square is the tiny task of target P8.
func square(_ context.Context, n int) (int, error) { return n * n, nil }

// spinTask burns about n microseconds of CPU and returns n.
func spinTask(_ context.Context, n int) (int, error) {
	spin(time.Duration(n) * time.Microsecond)
	return n, nil
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
	cmd := proc.Self("pipe-square")()
	taskR, taskW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	replR, replW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{taskR, replW}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	taskR.Close()
	replW.Close()
	br := bufio.NewReader(replR)
	var out, in [12]byte
	call = func(n int) int {
		binary.BigEndian.PutUint32(out[:4], 8)
		binary.BigEndian.PutUint64(out[4:], uint64(n))
		if _, err := taskW.Write(out[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, in[:]); err != nil {
			b.Fatal(err)
		}
		return int(binary.BigEndian.Uint64(in[4:]))
	}
	stop = func() {
		taskW.Close()
		_ = cmd.Wait()
		replR.Close()
	}
	return call, stop
}

// pipeSquare is the child of the hand-written baseline: it answers each
// framed int with its square until its input ends.
func pipeSquare() error {
	r := bufio.NewReader(os.NewFile(proc.TaskFD, "tasks"))
	w := os.NewFile(proc.ReplyFD, "replies")
	var buf [12]byte
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return nil
		}
		n := binary.BigEndian.Uint64(buf[4:])
		binary.BigEndian.PutUint64(buf[4:], n*n)
		if _, err := w.Write(buf[:]); err != nil {
			return err
		}
	}
}

// BenchmarkCPU1ms: tasks of about 1 ms of CPU from 8 concurrent callers on
// 2 workers: process workers against goroutine workers. One op is one
// task; throughput is the inverse of ns/op.
func BenchmarkCPU1ms(b *testing.B) {
	const workers, callers = 2, 8
	for _, kind := range []string{"goroutine", "proc"} {
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			var p *pool.Pool[int, int]
			var err error
			opts := pool.Options{MaxWorkers: workers, MinWorkers: workers, QueueSize: 64}
			if kind == "proc" {
				p, err = pool.New(proc.Factory[int, int](proc.Self("spin"), proc.Options{}), opts)
			} else {
				p, err = pool.NewFunc(spinTask, opts)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(context.Background())
			for range workers {
				if _, err := p.Run(context.Background(), 1); err != nil {
					b.Fatal(err)
				}
			}
			b.SetParallelism(callers / 2) // RunParallel starts GOMAXPROCS x this
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Run(context.Background(), 1000); err != nil {
						panic(err)
					}
				}
			})
		})
	}
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
