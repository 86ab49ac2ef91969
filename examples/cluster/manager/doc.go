// Package manager runs a server as N child processes that share one TCP port,
// as Node's cluster module does with pm2's supervision on top. It is the
// process-based contrast to crew's in-process pool (see docs/concepts.md and
// docs/pool-vs-cluster.md).
//
// # Children
//
// Start runs Options.Command Options.Instances times. Each child finds the
// address in CREW_ADDR and must listen on it with SO_REUSEPORT (CREW_REUSEPORT
// is "1"), so that the kernel spreads new connections between the children;
// it prints a line starting with "ready" on stdout once it accepts
// connections, and shuts down gracefully on SIGTERM. The example server
// (examples/server) does all three.
//
// # Supervision
//
// A child that exits without being asked to is restarted after a capped
// exponential backoff (Policy). An instance restarted Policy.MaxRestarts
// times within Policy.Period stays down and is reported (EventGaveUp, its
// Status); when every instance has given up, Done is closed and Err wraps
// ErrGaveUp.
//
// # Messages and health
//
// Each child also gets a channel to the manager on a pipe pair, apart from
// its stdout and stderr (package examples/cluster/ipc). A child that joins
// it with ipc.Open can be sent messages (Send to one instance, Broadcast to
// all, as Node's worker.send) and can send its own (Options.OnMessage, as
// Node's process.send). The manager sends it a heartbeat every
// Health.Interval; the answer carries the child's readiness, pool stats and
// memory, which Status and StatusHandler show for every process in one
// table. A child that misses Health.Missed heartbeats in a row, or reports
// itself not ready for Health.NotReadyGrace, is stuck: it is stopped
// (SIGTERM, SIGKILL after Health.KillGrace) and restarted as a crashed
// child is, under the same Policy, with EventUnhealthy and then
// EventExited with an error wrapping ErrUnhealthy. StatusHandler's POST
// /log-level sends a new log level to every child. A child that never
// joins the channel is watched only for its exit.
//
// Reload replaces the children one by one without refusing connections: the
// new child starts and becomes ready before the old one is stopped. Stop
// sends SIGTERM to every child and waits; a child that outlives
// Options.StopTimeout is killed.
//
// # Example
//
//	m, err := manager.Start(ctx, manager.Options{
//		Command:   []string{"./server"}, // examples/server, in its pool mode
//		Instances: 4,
//		Addr:      "127.0.0.1:8080",
//	})
//	if err != nil {
//		return err // a port in use, or a child that could not start
//	}
//	defer m.Stop(context.Background())
//	_ = manager.WriteStatus(os.Stdout, m.Status())
package manager
