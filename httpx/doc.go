// Package httpx connects a [pool.Tasks] to HTTP servers built with chi or
// net/http: middleware that runs handlers inside pool slots, a helper that
// runs only the CPU part of a handler on the pool, and handlers for stats,
// readiness and liveness.
//
// # Offloading whole handlers
//
// [Offload] (or [New] and [Offloader.Handler]) returns middleware that runs
// the downstream handler on a worker of the pool. The number of handlers
// running at once is bounded by the pool's MaxWorkers and the number waiting
// by its QueueSize; a request that finds the queue full is answered at once
// with 503 Service Unavailable and a Retry-After header, so overload turns
// into fast rejections instead of ever-growing latency:
//
//	p, err := pool.NewTasks(pool.Options{MaxWorkers: runtime.GOMAXPROCS(0), QueueSize: 64})
//	...
//	r := chi.NewRouter()
//	r.With(httpx.Offload(p, httpx.Options{})).Post("/thumbnail", thumbnail)
//
// A request whose client goes away while it is queued never runs and gets no
// response; set [ConnContext] on the http.Server so that this holds even
// when busy workers delay the runtime's news of a closed connection. A handler that panics gets a 500 response and the pool goes on
// serving. The request's context reaches the handler, cancelled when the
// client leaves or when the pool's TaskTimeout passes.
//
// # Ownership of the ResponseWriter
//
// Exactly one goroutine owns the ResponseWriter at a time: the pool worker
// while the handler runs, the request goroutine before and after. The
// middleware does not return while the handler still runs, except when the
// pool declares the handler hung (it ignored its context past TaskTimeout
// and HungGrace). The middleware then detaches the handler from the
// response: its later writes fail with [ErrDetached] and never reach the
// connection.
//
// # Offloading only the CPU part
//
// [Compute] runs one function on the pool and hands its result back to the
// request goroutine, which keeps reading the body and writing the response
// itself. Use it when a handler does I/O around a CPU-bound core.
//
// # Health
//
// [StatsHandler] serves the pool's [pool.Stats] and the process's runtime
// figures as JSON ([Stats]: snake_case, durations in milliseconds),
// [ReadyHandler] answers 503 while the queue is above a threshold so that a
// load balancer sends traffic elsewhere before requests are rejected, and
// [LiveHandler] answers 503 only once the pool has failed for good.
// [DashboardHandler] serves a live page of those stats with the last
// minutes of history kept on the server, the analogue of pm2's monit.
package httpx
