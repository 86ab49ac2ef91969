// Package app is the example server: a chi service whose CPU-bound
// endpoints (password hashing, image thumbnails, a pure computation) run on
// a crew pool through httpx, with health, readiness and pool stats, request
// logs, and graceful shutdown. Its Mode switch serves the same endpoints
// without the pool, or behind chi's Throttle, for comparison.
//
// # Usage
//
// Serve the app on a public listener and an admin listener until ctx ends
// (SIGTERM, say), then shut down within the budget described below:
//
//	a, err := app.New(app.Config{Workers: 4, Logger: logger})
//	if err != nil {
//		return err
//	}
//	return a.Serve(ctx, ln, adminLn) // nil after a clean shutdown
//
// # Process workers
//
// In ModeProc the pool's workers are child processes (package proc): the
// request goroutines read and check each request as in ModePool, and only
// its CPU work, a Job, crosses a pipe to a child, which answers with a
// Result. Admission is httpx's, as in ModePool: a request that cannot
// start within the waiting budget gets a 503. A fatal error in the work
// (an exit, "concurrent map writes", an out-of-memory abort) ends that
// child only: its request gets a 500 and the pool starts a new child. The
// children are, by default, the running binary started again in
// WorkerRole; its main checks proc.Role first and calls ServeWorker:
//
//	if proc.Role() == app.WorkerRole {
//		if err := app.ServeWorker(context.Background()); err != nil {
//			log.Fatal(err)
//		}
//		return
//	}
//
// # Admin listener
//
// The public listener serves the API, /healthz and /readyz; the operators'
// routes (App.AdminHandler: /metrics, /debug/pool, /debug/dashboard,
// /debug/pprof/) are served only on the admin listener, which the server
// command binds to loopback by default. Their requests are logged at Debug
// level, so polling them adds nothing to the log at the default level.
//
// # Slow clients
//
// A request's body is read, and checked, on its own goroutine, within
// Config.BodyTimeout (30s) of its handler starting; only the CPU part of the
// work (bcrypt, decoding and scaling an image) is handed to the pool with
// httpx.Compute. A client that sends its body slowly therefore holds a
// goroutine and a connection, never a worker. A body that does not arrive in
// time is answered 408, one over its limit 413, one cut short or malformed
// 400; never 200. Config.WriteTimeout bounds a client that reads its response
// slowly. (In throttle mode chi's Throttle bounds whole handlers, body reads
// included, as it would in any chi service.)
//
// # Per-request budgets
//
// No request can allocate more than these bounds, which are checked before
// the work starts:
//
//   - JSON bodies (/api/hash, /api/verify): 64 KiB, one JSON value with no
//     unknown fields and nothing after it.
//   - Uploaded images (/api/thumbnail): Config.MaxBodyBytes (8 MiB), read
//     into one buffer when Content-Length is given.
//   - Decoded images: Config.MaxPixels (40 megapixels), as the image's header
//     declares them, read with image.DecodeConfig before anything is decoded.
//   - Thumbnails: Config.MaxOutputPixels (1024 x 4096 pixels); the width is
//     at most 1024 and the height follows the image's aspect ratio, so a
//     4 x 10,000,000 image cannot be scaled to 1024 x 2,560,000,000.
//   - Image work: Config.MaxImageMemory (256 MiB) for decoding, scaling and
//     encoding one thumbnail, estimated from the header: the decoded image
//     (4 bytes a pixel, 8 with 16-bit samples, twice when interlaced; JPEG
//     per component and subsampling, plus 4 bytes a sample when
//     progressive), the scaler's 32 bytes per thumbnail column and source
//     row, the thumbnail, and its PNG encoding. Larger requests get 413 with
//     the estimate. A 40 megapixel photo (JPEG, 8000 x 5000) fits at any
//     width up to 1024 (about 240 MiB); an 8-bit 40 megapixel PNG fits up to
//     about width 320.
//
// So the server needs at most about Workers x (MaxImageMemory + MaxBodyBytes)
// for the work in progress, plus MaxBodyBytes for each upload being received
// or queued. FuzzThumbnail checks the image bounds against the allocations of
// real requests.
//
// # Overload and errors
//
// Every error response is JSON, {"error": "..."}, 404, 405 and the pool's
// 503 rejections included. Rejections are counted, not logged one by one:
// a line with their count at most once a second.
//
// # Shutdown
//
// App.Serve splits Config.ShutdownTimeout (30s): two thirds to drain HTTP
// requests, the rest of the budget (at least a third) to drain the pool,
// then it cuts the connections still open, and returns nil when all this
// stopped within the budget.
package app
