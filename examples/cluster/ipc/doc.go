// Package ipc is the channel between the cluster manager
// (examples/cluster/manager) and each child it runs: Node's worker.send and
// process.send, with heartbeats that carry the child's readiness, pool
// stats and memory, so that the manager can show every process in one view
// and replace a child that is alive but stuck.
//
// # Wire
//
// The manager gives each child a pipe pair as file descriptors 3 (manager
// to child) and 4 (child to manager) and announces them in the CREW_IPC
// environment variable ("3,4"); the child's stdout and stderr stay free for
// its logs. Both directions carry github.com/crewkit/crew/wire frames with
// JSON bodies (wire.JSON), so a capture of the pipe is readable. The child
// speaks first with a Hello that names the protocol Version; the manager
// ignores a child whose version it does not know.
//
// # Child
//
// A server joins its manager with Open, which returns a nil *Child, whose
// methods do nothing, when CREW_IPC is unset, so the same binary runs
// unchanged when started by hand:
//
//	var level slog.LevelVar
//	child, err := ipc.Open(ipc.ChildOptions{
//		Level:  &level, // the manager can change the log level of every child
//		Report: func(r *ipc.Report) { r.Ready, r.Pool = true, ipc.PoolOf(p.Stats()) },
//		OnMessage: func(m ipc.Message) { /* a message from the manager */ },
//	})
//	if err != nil {
//		return err
//	}
//	defer child.Close()
//	_ = child.Send(ctx, ipc.Message{Type: "hello"}) // reaches Options.OnMessage
//
// Heartbeats are answered, and messages handled, one at a time on the
// goroutine that reads the pipe, in the order the manager sent them: a
// Report or OnMessage that blocks stops the heartbeats, and the manager
// replaces the child, as it should for a process that is wedged.
package ipc
