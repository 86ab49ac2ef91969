package ipc_test

import (
	"context"
	"os"
	"testing"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/wire"
)

// BenchmarkHeartbeat measures one heartbeat's round trip over two OS pipes
// in one process: the ping, the child's report (memory read from /proc
// and runtime/metrics) and its JSON encoding, and the answer. The baseline
// sends a frame with an empty body and reads it back over the same kind of
// pipes, the least a round trip costs.
func BenchmarkHeartbeat(b *testing.B) {
	b.Run("baseline: raw frame echo", func(b *testing.B) {
		b.ReportAllocs()
		down, downW, up, upW := pipes(b)
		go func() { // echo until the pipe closes
			for {
				f, err := wire.ReadFrame(down, 0)
				if err != nil {
					return
				}
				if wire.WriteFrame(upW, f, 0) != nil {
					return
				}
			}
		}()
		for b.Loop() {
			if err := wire.WriteFrame(downW, wire.Frame{Kind: 2, ID: 1}, 0); err != nil {
				b.Fatal(err)
			}
			if _, err := wire.ReadFrame(up, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("heartbeat", func(b *testing.B) {
		b.ReportAllocs()
		down, downW, up, upW := pipes(b)
		conn := ipc.NewConn(up, downW, nil)
		child, err := ipc.NewChild(down, upW, ipc.ChildOptions{
			Report: func(r *ipc.Report) { r.Pool = &ipc.PoolStats{State: "open", Workers: 2} },
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _, _ = child.Close(), conn.Close() })
		<-conn.HelloDone()
		for b.Loop() {
			_, changed := conn.Last()
			if _, err := conn.Ping(context.Background()); err != nil {
				b.Fatal(err)
			}
			<-changed
		}
	})
}

// pipes returns two OS pipes, closed when the benchmark ends: down (the
// child reads, the manager writes) and up.
func pipes(b *testing.B) (down, downW, up, upW *os.File) {
	down, downW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	up, upW, err = os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, f := range []*os.File{down, downW, up, upW} {
			_ = f.Close()
		}
	})
	return down, downW, up, upW
}
