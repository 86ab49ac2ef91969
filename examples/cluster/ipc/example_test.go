package ipc_test

import (
	"context"
	"fmt"
	"os"

	"github.com/crewkit/crew/examples/cluster/ipc"
)

// A manager's Conn and a child's Child over two pipes, in one process for
// the example: the manager pings, the child reports, and a message goes
// each way.
func Example() {
	down, downW, _ := os.Pipe() // manager to child
	upR, up, _ := os.Pipe()     // child to manager
	got := make(chan ipc.Message, 1)
	conn := ipc.NewConn(upR, downW, func(m ipc.Message) { got <- m })
	var child *ipc.Child
	child, err := ipc.NewChild(down, up, ipc.ChildOptions{
		Report: func(r *ipc.Report) { r.Pool = &ipc.PoolStats{Workers: 4, Busy: 1} },
		OnMessage: func(m ipc.Message) {
			_ = child.Send(context.Background(), ipc.Message{Type: "pong", Data: m.Data})
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	defer child.Close()

	_, changed := conn.Last()
	_, _ = conn.Ping(context.Background())
	<-changed
	hb, _ := conn.Last()
	fmt.Println("heartbeat", hb.Seq, "ready", hb.Report.Ready, "workers", hb.Report.Pool.Workers, "busy", hb.Report.Pool.Busy)

	m, _ := ipc.NewMessage("ping", "hi")
	_ = conn.Send(context.Background(), m)
	reply := <-got
	fmt.Println(reply.Type, string(reply.Data))
	// Output:
	// heartbeat 1 ready true workers 4 busy 1
	// pong "hi"
}
