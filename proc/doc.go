// Package proc runs pool workers in child processes: the same [pool.Pool]
// (Run, Submit, Stats, Reload, Close, RestartPolicy, TaskTimeout), with each
// worker in its own OS process that can crash, run out of memory or hang
// without taking the server with it, and that can really be killed.
//
// # Parent and child
//
// The parent gives [Factory] to pool.New; every worker the pool builds
// starts one child process. The child's main calls [Serve] with an ordinary
// pool.Factory, which builds the worker that runs in the child:
//
//	// parent
//	p, err := pool.New(proc.Factory[Job, Result](cmd, proc.Options{}), pool.Options{MaxWorkers: 4})
//
//	// child
//	func main() {
//		if err := proc.Serve(context.Background(), newWorker, proc.ServeOptions{}); err != nil {
//			log.Fatal(err)
//		}
//	}
//
// The child may be a separate binary, or the running binary started again
// by [Self] in a worker role that main checks first with [Role].
//
// # Wire
//
// Parent and child speak over dedicated pipes, the child's fds 3 to 5 (tasks
// down, answers up, cancel requests down), with [wire] frames; the child's
// stdout and stderr stay free for its logs, which the parent forwards line
// by line tagged with the worker ID ([Options].Output or [Options].Logger).
// The codec is chosen once (gob by default, JSON as an option) and checked,
// with the protocol version, in a handshake that the child sends once its
// worker is built.
//
// # What a process adds
//
//   - A task whose ctx ends is cancelled in the child. A child that does
//     not answer within [Options].Grace is killed; its task fails with
//     [ErrUnresponsive] and the pool rebuilds the worker.
//   - A child that dies under a task (exit, signal, out-of-memory kill)
//     fails it with an [*ExitError] carrying the exit status or signal and
//     the child's last stderr lines; the pool counts a crash and rebuilds
//     the worker with backoff.
//   - Memory: [Options].MemoryLimit is a hard limit the kernel enforces,
//     with GOMEMLIMIT below it for the child's GC; [Options].MaxRSS
//     recycles a child whose resident memory grew past it, between tasks.
//   - A child that breaks the protocol (garbage, a second answer) is killed
//     with [ErrProtocol]; one that fails its handshake with [ErrHandshake].
//     A task the codec cannot encode fails alone with [ErrEncode].
//   - Children die with the parent: the pipe's end makes Serve return, and
//     on Linux the kernel kills them (Pdeathsig) if the parent dies first.
//     Closing a worker closes its pipe, waits up to Grace, kills, and
//     always reaps the child.
package proc
