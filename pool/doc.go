// Package pool runs CPU-heavy work on a set of isolated workers fed by a
// manager: the Go counterpart of Node's worker_threads with a Piscina-style
// pool on top, and an Erlang/pm2-style supervisor that restarts what
// crashes.
//
// # Workers
//
// A [Worker] owns private state and handles one message at a time, so it
// needs no locks. A [Factory] builds workers on their own goroutines, lazily,
// up to [Options].MaxWorkers. A worker whose Handle panics or returns an
// error marked with [Fatal] is discarded and rebuilt; the panic reaches the
// task's caller as a [*PanicError] with the stack, and the process lives on.
// A Handle that calls runtime.Goexit (t.FailNow in a test's handler) fails
// its task with an error, and its worker is replaced as well.
// [NewFunc] wraps a stateless function; [NewTasks] gives a pool of closures.
//
// # Feeding the pool
//
// Tasks wait in one bounded FIFO queue. Each way to submit says how it
// waits:
//
//   - [Pool.Run] waits for room, then for the result.
//   - [Pool.Submit] waits for room and returns a [Future].
//   - [Pool.TrySubmit] and [Pool.TryGo] never wait: [ErrQueueFull].
//   - [Pool.Go] is fire and forget; errors go to [Options].OnError.
//
// A task whose caller's ctx ends while it is queued never runs; a running
// task sees its ctx cancelled. The task's ctx carries the values of the
// caller's, whether or not that can be cancelled. Every accepted task
// resolves exactly once.
// Tasks start in queue order, with one known exception: while an inline
// Run has borrowed an idle worker, a task that worker's slot took from the
// queue is passed on to the next free slot, and when two slots take tasks
// at that moment, a task queued just after it can start first.
//
// # Nested calls
//
// A task may submit to its own pool and wait, with the ctx it was given (or
// one derived from it): the pool adds a worker while it waits, so nested
// work cannot deadlock. That ctx is the only way the pool can recognise
// its own task, since Go gives a goroutine no identity that a library may
// use. Called with context.Background() or any unrelated ctx, a nested call
// waits like any caller's, and a pool whose every worker does that
// deadlocks; the pool then reports it: once work is queued with every
// worker busy and no task has started or finished for a whole
// [Options].IdleTimeout, [Stats].Stalled is true and a [PoolStalled] event
// is emitted.
//
// # Inline runs
//
// A caller that will wait for its task to be over anyway (a Run whose ctx
// cannot be cancelled, or any TryRun), arriving while the queue is empty
// and a worker is idle, borrows that worker and calls Handle on the
// caller's own goroutine: the pool skips waking the worker's goroutine and
// the two switches and the cross-processor hand-off that cost more than a
// small task. The task's ctx still ends with the caller's. A Run whose ctx
// can be cancelled does not borrow, since it must return as soon as its ctx
// ends, even while a task that ignores its ctx runs on. The worker is still
// used by one task at a time and keeps its state; crashes, recycling,
// Stats, Reload and Close treat the task like any other, and Close waits
// for it. Nothing queued is overtaken. [Options].NoInline turns this off,
// for workers tied to the goroutine that built them; a pool with a
// [Options].TaskTimeout never runs tasks inline.
//
// # Messages
//
// Workers post to the pool's owner with WorkerInfo.Post, read from
// [Pool.Messages]. The owner sends to one worker with [Pool.Send] or to
// every live worker with [Pool.Broadcast] (Node's worker.postMessage); a
// worker that implements [Receiver] gets each message between two tasks, on
// its own goroutine, so its state still needs no locks. Neither call waits:
// a worker's mailbox holds [MailboxSize] messages.
//
// # Supervision
//
// Crashes and factory failures are rebuilt under a [RestartPolicy]: capped
// exponential backoff with jitter, an intensity limit and a crash-loop
// limit, past which the pool fails with [ErrPoolFailed] instead of looping. [Options].MaxTasksPerWorker
// recycles workers, [Options].TaskTimeout with HungGrace detects hung ones,
// [Pool.Reload] replaces every worker without losing capacity, and events
// report it all to [Options].OnEvent.
//
// # Shutdown
//
// [Pool.Close] stops accepting work, drains the queue, and when its ctx ends
// cancels what is left; it returns a [*CloseError] naming any goroutine that
// ignored cancellation, because Go cannot kill a goroutine. Importing the
// package starts no goroutine and it has no global state.
//
// # Node to crew
//
//	new Worker(file, {workerData})     pool.Spawn
//	parentPort.postMessage             WorkerInfo.Post, read from Pool.Messages
//	worker.postMessage                 Pool.Send, Pool.Broadcast, received by a Receiver
//	piscina.run(task, {signal})        Pool.Run(ctx, in), Pool.Submit
//	maxQueue / needsDrain              Options.QueueSize / ErrQueueFull
//	minThreads, maxThreads, idleTimeout  MinWorkers, MaxWorkers, IdleTimeout
//	runTime, waitTime, utilization     Stats
//	close({force}) / destroy()         Close(ctx)
//	pm2 max_restarts, exp backoff      RestartPolicy
//	pm2 reload                         Pool.Reload
//	resourceLimits                     MaxTasksPerWorker, TaskTimeout (Go has no per-goroutine heap limit)
package pool
