package httpx

import (
	"errors"
	"net/http"

	"github.com/crewkit/crew/pool"
)

// StatusError is an error with the HTTP status that answers it, for the
// decode function of [Handle]: a decode error that wraps one is answered
// with its Status and message, any other with 400 Bad Request.
type StatusError struct {
	Status int   // a 4xx or 5xx status
	Err    error // sent to the client as the response's text
}

// Error returns the message of the wrapped error.
func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *StatusError) Unwrap() error { return e.Err }

// Handle returns a handler that serves a route with a typed pool, such as a
// pool of stateful workers built by pool.New: decode reads and validates
// the request on the request goroutine (so a slow client never holds a
// worker), a worker of p turns the input into the output, and encode writes
// the response, again on the request goroutine.
//
// Admission is by the waiting budget of opts (Options.MaxWait): a request
// arriving when p estimates a wait of more than four budgets is rejected
// at once, and when the
// queue is full it is rejected too, with Options.RejectStatus and
// Retry-After. A request whose client goes away while it is queued leaves
// the queue at once and never runs. Worker errors are answered as
// [Offloader.WriteError] answers them. A task that starts late is not
// shed, as it is by Offload: the worker is the pool's, not httpx's, so
// httpx cannot look at it before it runs.
//
// Handle panics with an "httpx:" message for a nil pool, decode or encode,
// or invalid options.
func Handle[In, Out any](p *pool.Pool[In, Out], decode func(*http.Request) (In, error),
	encode func(http.ResponseWriter, *http.Request, Out), opts Options) http.Handler {
	if p == nil || decode == nil || encode == nil {
		panic("httpx: Handle needs a non-nil pool, decode and encode")
	}
	a, err := newAnswers(opts)
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode(r)
		if err != nil {
			writeDecodeError(w, err)
			return
		}
		if !a.admit(p) {
			p.CountRejected()
			a.reject(w)
			return
		}
		// TryRun leaves the queue at once if the client goes away while the
		// task is queued, and otherwise returns when the task is over.
		out, err := p.TryRun(r.Context(), in)
		if err != nil {
			a.WriteError(w, r, err)
			return
		}
		encode(w, r, out)
	})
}

// writeDecodeError answers a request that decode refused.
func writeDecodeError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	if se, ok := errors.AsType[*StatusError](err); ok && se.Status >= 400 && se.Status <= 599 {
		code = se.Status
	}
	http.Error(w, err.Error(), code)
}
