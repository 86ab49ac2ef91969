package app

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/crewkit/crew/examples/internal/cpuwork"
	"github.com/crewkit/crew/httpx"
)

// ExitCodeCrash is the status with which /api/crash?kind=exit ends the
// process.
const ExitCodeCrash = 3

// crash serves GET /api/crash?kind=panic|exit, a request whose work fails
// fatally, for the fault experiments of docs/pool-vs-cluster.md. It first
// burns a little CPU like the other endpoints.
//
//   - kind=panic (the default): the work panics off the request goroutine.
//     In pool mode it runs on a pool worker (httpx.Compute): crew recovers
//     the panic, this request gets a 500, the worker is rebuilt and every
//     other request goes on. In plain and throttle modes it runs on a
//     goroutine of its own, as Go code without a pool does to bound or
//     parallelise work, and a panic there ends the process.
//   - kind=exit: the process exits with ExitCodeCrash in every mode, as
//     after a fatal runtime error (concurrent map writes, out of memory)
//     that no recover can catch.
//
// A panic on the request goroutine itself would be recovered by chi's
// Recoverer in every mode, so it is not offered.
func (a *App) crash(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	fail := func(ctx context.Context) (struct{}, error) {
		_, _ = cpuwork.Digest(ctx, []byte("crash"), 10_000)
		if kind == "exit" {
			fmt.Fprintln(os.Stderr, "server: /api/crash?kind=exit: exiting as a fatal error would")
			os.Exit(ExitCodeCrash)
		}
		panic("server: /api/crash?kind=panic: simulated fault in a request's work")
	}
	switch kind {
	case "", "panic", "exit":
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind must be panic or exit, got %q", kind))
		return
	}
	if a.pool != nil {
		_, err := httpx.Compute(r.Context(), a.pool, fail)
		a.handlerFailed(r, err)
		writeError(w, http.StatusInternalServerError, "the request's work panicked; its worker is rebuilt")
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = fail(r.Context())
		close(done) // never reached: fail panics or exits, and a deferred close would let a 200 out first
	}()
	<-done
}
