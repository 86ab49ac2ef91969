package app

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
)

// ExitCodeCrash is the status with which /api/crash?kind=exit ends the
// process.
const ExitCodeCrash = 3

// crash serves GET /api/crash?kind=panic|exit|fatal, a request whose work
// fails fatally, for the fault experiments of docs/pool-vs-cluster.md. It
// first burns a little CPU like the other endpoints.
//
//   - kind=panic (the default): the work panics off the request goroutine.
//     In pool mode it runs on a pool worker (httpx.Compute): crew recovers
//     the panic, this request gets a 500, the worker is rebuilt and every
//     other request goes on. In proc mode the child recovers it the same
//     way and is replaced. In plain and throttle modes it runs on a
//     goroutine of its own, as Go code without a pool does to bound or
//     parallelise work, and a panic there ends the process.
//   - kind=exit: the process that runs the work exits with ExitCodeCrash,
//     as after a fatal runtime error that no recover can catch. In proc
//     mode that is the child that ran it: this request gets a 500, the
//     pool starts a new child, and the server goes on. In every other mode
//     it is the server.
//   - kind=fatal: a real fatal runtime error, "concurrent map writes", in
//     the process that runs the work, with the same outcome as kind=exit.
//
// A panic on the request goroutine itself would be recovered by chi's
// Recoverer in every mode, so it is not offered. A crash request that the
// pool sheds before its work runs (the server is overloaded) is answered
// 503 like any other, and crashes nothing.
func (a *App) crash(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	switch kind {
	case "", "panic", "exit", "fatal":
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind must be panic, exit or fatal, got %q", kind))
		return
	}
	job := Job{Kind: jobCrash, Crash: kind}
	switch {
	case a.procs != nil:
		if _, ok := a.remote(w, r, job); ok {
			writeError(w, http.StatusInternalServerError, "the crash did not happen") // unreachable: the child never answers
		}
		return
	case a.pool != nil:
		_, err := httpx.Compute(r.Context(), a.pool, job.run)
		if _, ok := errors.AsType[*pool.PanicError](err); !ok {
			a.writeComputeError(w, r, err) // shed or timed out before the work ran: 503, as any request
			return
		}
		a.handlerFailed(r, err)
		writeError(w, http.StatusInternalServerError, "the request's work panicked; its worker is rebuilt")
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = job.run(r.Context())
		close(done) // never reached: run panics or exits, and a deferred close would let a 200 out first
	}()
	<-done
}
