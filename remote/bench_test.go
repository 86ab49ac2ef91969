package remote_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// tiny is the task of P9: a few bytes in, the same out.
var tiny = job{Text: "ping"}

// cpuTime returns the process's user and system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs body b.N times and reports the CPU time per operation of
// the whole process: caller, member and embedded server.
func measure(b *testing.B, body func()) {
	b.ReportAllocs()
	start := cpuTime(b)
	b.ResetTimer()
	body()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkP9 compares Run of a tiny task through remote with a raw nats.go
// request/reply of the same encoded payload to a plain subscriber that
// answers it: the same server, the same connections, one call at a time.
// The remote calls use a ctx that cannot end, as the raw request's, and,
// in remote/gob/cancellable, one that can.
func BenchmarkP9(b *testing.B) {
	s := startServer(b)
	payload, err := wire.Gob.NewEncoder().Encode(tiny)
	require.NoError(b, err)
	payload = append([]byte(nil), payload...)

	b.Run("raw", func(b *testing.B) {
		mc, cc := connect(b, s), connect(b, s)
		sub, err := mc.QueueSubscribe("raw", "q", func(m *nats.Msg) { _ = m.Respond(m.Data) })
		require.NoError(b, err)
		b.Cleanup(func() { _ = sub.Unsubscribe() })
		require.NoError(b, mc.Flush())
		measure(b, func() {
			for range b.N {
				if _, err := cc.Request("raw", payload, 10*time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []struct {
		name  string
		codec wire.Codec
		ctx   context.Context
	}{
		{"remote/gob", wire.Gob, context.Background()},
		{"remote/json", wire.JSON, context.Background()},
		// A ctx that can be cancelled: the member keeps the task's cancel
		// until it resolves, so that the caller's cancel can reach it.
		{"remote/gob/cancellable", wire.Gob, ctx},
	} {
		codec, ctx := c.codec, c.ctx
		b.Run(c.name, func(b *testing.B) {
			m := startMember(b, s, echo, pool.Options{MaxWorkers: 1}, remote.MemberOptions{Codec: codec})
			p := callers(b, connect(b, s), remote.Options{Codec: codec}, pool.Options{MaxWorkers: 1})
			measure(b, func() {
				for range b.N {
					if _, err := p.Run(ctx, tiny); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.StopTimer()
			require.NoError(b, m.m.Stop(ctx)) // before the next codec's member joins
		})
	}
}

// spin is a small CPU-bound task: 64 rounds of SHA-256 over 256 bytes,
// about 50 us.
func spin(_ context.Context, j job) (string, error) {
	sum := sha256.Sum256([]byte(j.Text))
	buf := make([]byte, 256)
	for range 64 {
		copy(buf, sum[:])
		sum = sha256.Sum256(buf)
	}
	return fmt.Sprintf("%x", sum[:4]), nil
}

// BenchmarkMembers measures throughput with 1, 2 and 3 members, each a pool
// of one worker on its own connection, and 16 callers in flight; a local
// pool of one worker per member running the same task is the baseline. On a
// machine with two cores the members share them, so throughput cannot grow
// past two members' worth.
func BenchmarkMembers(b *testing.B) {
	for n := 1; n <= 3; n++ {
		b.Run(fmt.Sprintf("local/workers=%d", n), func(b *testing.B) {
			p, err := pool.NewFunc(spin, pool.Options{MaxWorkers: n})
			require.NoError(b, err)
			b.Cleanup(func() { require.NoError(b, p.Close(context.Background())) })
			parallel(b, p)
		})
		b.Run(fmt.Sprintf("remote/members=%d", n), func(b *testing.B) {
			s := startServer(b)
			for range n {
				startMember(b, s, spin, pool.Options{MaxWorkers: 1}, remote.MemberOptions{})
			}
			parallel(b, callers(b, connect(b, s), remote.Options{}, pool.Options{MaxWorkers: 16}))
		})
	}
}

// parallel runs tasks on p from 16 goroutines and reports tasks per second.
func parallel(b *testing.B, p *pool.Pool[job, string]) {
	b.SetParallelism(16)
	start := time.Now()
	measure(b, func() {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Run(context.Background(), job{Text: "x"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
}
