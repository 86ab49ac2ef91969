package procpeers_test

import (
	"context"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

// startProc starts a pool of one process worker and returns a function
// that squares n through it.
func startProc(b *testing.B) (call func(int) int, stop func()) {
	p, err := pool.New(proc.Factory[int, int](proc.Self("square"), proc.Options{}), pool.Options{MaxWorkers: 1, MinWorkers: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	call = func(n int) int {
		out, err := p.Run(ctx, n)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	return call, func() { _ = p.Close(context.Background()) }
}

var peers = []struct {
	name  string
	start func(*testing.B) (func(int) int, func())
}{
	{"pipe", startPipe},
	{"proc", startProc},
	{"goplugin-grpc", startPlugin},
}

// BenchmarkP8: one caller squares an int in a child process and waits for
// the answer, through each peer. One op is one round trip.
func BenchmarkP8(b *testing.B) {
	for _, peer := range peers {
		b.Run(peer.name, func(b *testing.B) {
			b.ReportAllocs()
			call, stop := peer.start(b)
			defer stop()
			call(1) // the child is up
			b.ResetTimer()
			for i := range b.N {
				if call(i) != i*i {
					b.Fatal("wrong result")
				}
			}
		})
	}
}

// BenchmarkP8Ratio runs one round trip through each peer in turn in the
// same loop, so that all three see the same load on a shared machine, and
// reports each peer's time over the hand-written pipe's (proc/pipe,
// goplugin/pipe) and proc's over go-plugin's (proc/goplugin). One op is one
// round trip through each peer.
func BenchmarkP8Ratio(b *testing.B) {
	b.ReportAllocs()
	calls := make([]func(int) int, len(peers))
	for i, peer := range peers {
		call, stop := peer.start(b)
		defer stop()
		call(1)
		calls[i] = call
	}
	spent := make([]time.Duration, len(peers))
	b.ResetTimer()
	for i := range b.N {
		for j, call := range calls {
			t0 := time.Now()
			if call(i) != i*i {
				b.Fatal("wrong result")
			}
			spent[j] += time.Since(t0)
		}
	}
	pipe, procT, plug := float64(spent[0]), float64(spent[1]), float64(spent[2])
	b.ReportMetric(procT/pipe, "proc/pipe")
	b.ReportMetric(plug/pipe, "goplugin/pipe")
	b.ReportMetric(procT/plug, "proc/goplugin")
}
