// Package remote runs a crew pool's tasks on other machines over NATS: the
// last rung of the isolation ladder (goroutine, process, machine), behind
// the same pool API.
//
// # Members and callers
//
// A member serves a local [pool.Pool] as a NATS micro service with [Serve]:
// one endpoint in a queue group, so NATS hands each request to one member.
// A caller builds an ordinary pool whose workers are remote calls:
//
//	p, err := pool.New(remote.Factory[In, Out](nc, "resize", remote.Options{}), pool.Options{MaxWorkers: 64})
//	out, err := p.Run(ctx, in)
//
// The caller's pool bounds how many tasks are in flight (one per worker)
// and gives Run, Submit, Stats and Close; the member's pool gives
// backpressure, supervision and Stats on its machine, and the micro
// service's STATS answer carries them.
//
// # Failures
//
// A member that cannot take a task (its queue is full, it is stopping, its
// pool closed or failed) says so at once, and the caller sends the task
// again after a backoff; NATS picks the member again. When no member serves
// the service NATS says so at once, and the call sends again with the same
// capped backoff until a member appears or [Options].NoMembersWait (5s by
// default) passes; then it fails with [ErrNoMembers]. A member reports a
// task it holds with a heartbeat every [Options].Heartbeat; a member silent
// for [Options].LostAfter is lost, and its task fails with [ErrMemberLost]
// (at most once: the default, or [AtMostOnce]), an error marked
// [pool.Fatal] so that the caller's pool counts the loss as a crash of the
// worker, or is sent again (at least once: [Options].Idempotent or
// [Idempotent]). A task's error keeps its kind:
// a [*pool.PanicError], [pool.ErrTimeout], [pool.ErrPoolFailed] and the other
// pool sentinels match errors.As and errors.Is; other errors keep their
// message.
//
// A caller whose connection closed fails its call with an error marked
// [pool.Fatal], so the pool rebuilds the worker under its RestartPolicy and
// fails with [pool.ErrPoolFailed] if the connection stays closed.
//
// A caller whose ctx is cancelled before the answer tells the members, and
// the one holding the task ends its ctx; a deadline travels with the
// request.
//
// # Messages
//
// A caller's worker implements [pool.Receiver]: a message sent to it with
// Pool.Send or Pool.Broadcast is published to every member of the service,
// which hands it to its own pool's Broadcast, as [Broadcast] does without
// a caller pool. WorkerInfo.Post in a member's worker reaches the member
// pool's Messages, not a caller's.
//
// # Durable mode
//
// [ServeDurable] and [DurableFactory] put tasks in a JetStream work-queue
// stream instead: one durable pull consumer shared by every member, an
// acknowledgement after the task ran and its answer was sent, in-progress
// acknowledgements while it runs, delivery to another member when one dies
// (after [DurableOptions].AckWait), deduplication by task ID ([WithTaskID]),
// and a dead-letter subject ([DeadSubject]) after MaxDeliver deliveries. A
// task runs at least once; its answer reaches a caller that still waits.
//
// # Wire
//
// Requests and replies are encoded by a [wire.Codec] ([wire.Gob] by default,
// [wire.JSON] as an option), one message each; both sides must use the same
// codec. A payload over the limit fails with [ErrTooLarge], one that does
// not decode with [ErrUndecodable].
//
// # Embedded server
//
// [NewServer] starts a NATS server in the process, on loopback with
// JetStream in a temporary directory: the default for one machine and the
// fixture for tests. The same members and callers join real NATS servers
// when they connect to them instead.
//
// Importing the package starts no goroutine.
package remote
