package httpx

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
)

// Offloader runs HTTP handlers on the workers of a pool.Tasks, turning a
// full queue into fast rejections. Create one with New; it is safe for
// concurrent use and holds no goroutine of its own.
type Offloader struct {
	p   *pool.Tasks
	adm *admission
	answers
}

// answers writes the responses of the middleware and helpers for the
// errors of a pool.
type answers struct {
	opts  Options
	retry []string // the Retry-After header's value, shared by every rejection
}

// ErrOverloaded is the error of a request shed by the waiting budget
// (Options.MaxWait): it was answered as a rejection, without running.
// It matches pool.ErrShed, so that the pool counts a shed request in
// Stats.Canceled (it never ran), not in Failed.
var ErrOverloaded error = overloaded{}

type overloaded struct{}

func (overloaded) Error() string {
	return "httpx: the request could not start within the waiting budget"
}

// Is makes errors.Is(ErrOverloaded, pool.ErrShed) true.
func (overloaded) Is(target error) bool { return target == pool.ErrShed }

// Pool is what the stats, readiness, liveness and dashboard handlers and the
// admission rule need of a pool. Every crew pool implements it:
// *pool.Pool[In, Out] of any types, and *pool.Tasks.
type Pool interface {
	Stats() pool.Stats
	EstimatedWait() time.Duration
}

func newAnswers(opts Options) (answers, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return answers{}, err
	}
	return answers{opts: opts, retry: []string{retryAfter(opts.RetryAfter)}}, nil
}

// New returns an Offloader for p configured by opts. It returns an error,
// starting with "httpx:", for a nil pool or an invalid Options value.
func New(p *pool.Tasks, opts Options) (*Offloader, error) {
	if p == nil {
		return nil, errors.New("httpx: New needs a non-nil pool")
	}
	a, err := newAnswers(opts)
	if err != nil {
		return nil, err
	}
	return &Offloader{p: p, adm: newAdmission(a.opts.MaxWait, a.opts.ShedOnlyFloods, p.Stats()), answers: a}, nil
}

// Offload returns middleware that runs the downstream handler inside a slot
// of p, as [Offloader.Handler] does, for use in route declarations:
// r.With(httpx.Offload(p, httpx.Options{})). It panics with New's error for
// a nil pool or an invalid Options value, so misconfiguration stops the
// program at startup; use New to get the error instead.
func Offload(p *pool.Tasks, opts Options) func(http.Handler) http.Handler {
	o, err := New(p, opts)
	if err != nil {
		panic(err)
	}
	return o.Handler
}

// Pool returns the pool that o runs handlers on.
func (o *Offloader) Pool() *pool.Tasks { return o.p }

// offloadedKey marks the context of a request already running on a worker;
// its value is the worker's pool.
type offloadedKey struct{}

// Handler is middleware that runs next inside a pool slot. It panics if next
// is nil.
//
// The request waits in the pool's queue for a worker, in FIFO order; when
// the queue is full it is answered at once with Options.RejectStatus and a
// Retry-After header. A request that waited past Options.MaxWait is
// answered so as its worker reaches it, without running, and one arriving
// when the estimated wait is past four budgets is answered so at once;
// with Options.ShedOnlyFloods only while the queue keeps growing (an
// open-loop flood).
// Every request refused on arrival is counted in the pool's
// Stats.Rejected.
// If the client goes away while the request is queued, next never runs and
// nothing is written. next sees the request's context, which the pool also
// cancels at its TaskTimeout; a handler that returns without writing after
// its deadline gets Options.TimeoutStatus. A panic in next is answered with
// 500 (or aborts the connection if the response had begun) and the pool
// goes on serving. A request already running on a worker, because two
// Offload middlewares are stacked, runs next in place.
//
// The middleware returns only after next has returned, unless the pool
// declares next hung; see the package documentation for this ownership rule.
// next's ResponseWriter implements http.Flusher but not http.Hijacker.
func (o *Offloader) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("httpx: Offload needs a non-nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(offloadedKey{}) != nil {
			next.ServeHTTP(w, r)
			return
		}
		o.serve(next, w, r)
	})
}

func (o *Offloader) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	enq, ok := o.adm.enter(o.p.EstimatedWait(), o.p.Queued())
	if !ok {
		o.p.CountRejected()
		o.reject(w) // the cheapest path: nothing allocated, nothing queued
		return
	}
	g := newGuard(w, r.Body)
	orig := chi.RouteContext(r.Context())
	g.route = cloneRoute(orig) // chi recycles orig once the middleware returns
	// TryRun returns only when the task is over, so the handler never holds
	// the writer after serve returns; with an idle worker and nothing
	// queued it runs the handler on this goroutine.
	err := o.p.TryRun(r.Context(), func(ctx context.Context) error {
		now := time.Now()
		if o.adm.shed(enq, now) && g.abandon() {
			o.adm.leave()
			return ErrOverloaded // shed unrun: it waited past the budget
		}
		if gone(ctx, now.Sub(enq)) && g.abandon() {
			o.adm.leave()
			return ErrClientGone // its client left before the runtime told net/http
		}
		return o.run(ctx, g, next, r)
	})
	if g.abandon() { // never ran
		if errors.Is(err, pool.ErrQueueFull) {
			o.adm.refused()
		} else {
			o.adm.leave() // the client left while it was queued, or the pool dropped it
		}
		if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
			return // its client left: nothing is written
		}
		o.WriteError(w, r, err)
		return
	}
	if err == nil && orig != nil {
		*orig = *g.route // the handler returned: outer middleware sees its routing
	}
	o.finish(w, r, g, err)
}

// cloneRoute returns a private deep copy of a chi route context, or nil.
func cloneRoute(rc *chi.Context) *chi.Context {
	if rc == nil {
		return nil
	}
	c := *rc
	c.URLParams.Keys = slices.Clone(rc.URLParams.Keys)
	c.URLParams.Values = slices.Clone(rc.URLParams.Values)
	c.RoutePatterns = slices.Clone(rc.RoutePatterns)
	return &c
}

// run is the pool task: it serves the request through the guard.
func (o *Offloader) run(ctx context.Context, g *guard, next http.Handler, r *http.Request) error {
	if !g.begin() {
		return context.Canceled // abandoned while queued
	}
	o.adm.leave()
	if ctx.Err() != nil {
		return context.Cause(ctx) // the client left as the task started: never run it
	}
	ctx = context.WithValue(ctx, offloadedKey{}, o.p)
	if g.route != nil {
		ctx = context.WithValue(ctx, chi.RouteCtxKey, g.route)
	}
	r = r.WithContext(ctx)
	if r.Body != nil {
		r.Body = taskBody{g}
	}
	next.ServeHTTP(taskWriter{g}, r)
	// The response is sent by the request goroutine once the middleware
	// returns. Yield, so that it and the connections waiting to be read get
	// a processor now instead of at the next preemption, up to 10ms later,
	// while this worker takes the next CPU-bound task.
	runtime.Gosched()
	if ctx.Err() != nil && !g.wasCommitted() {
		return context.Cause(ctx) // gave up without answering
	}
	return nil
}

// finish takes the response back from the task and answers for it if it
// failed.
func (o *Offloader) finish(w http.ResponseWriter, r *http.Request, g *guard, err error) {
	if err == nil {
		g.release()
		return
	}
	if !g.detach() {
		o.WriteError(w, r, err)
		return
	}
	// The response had begun: a status can no longer be sent, so cut the
	// connection rather than let a truncated body look complete.
	if !errors.Is(err, http.ErrAbortHandler) {
		o.opts.OnError(r, err)
	}
	panic(http.ErrAbortHandler)
}

// WriteError answers r for an error returned by the pool or by [Compute]:
// Options.RejectStatus with Retry-After when the queue was full or the pool
// is closed or failed, Options.TimeoutStatus for pool.ErrTimeout, and 500
// for a panic or any other error, whose text is not sent. It writes nothing
// when the client has gone away. Errors other than rejections and the
// client's own cancellation are passed to Options.OnError.
func (o *Offloader) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	o.answers.WriteError(w, r, err)
}

// WriteError is Offloader.WriteError for the options of a.
func (a *answers) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	gone := r.Context().Err() != nil || errors.Is(err, ErrClientGone)
	if isRejection(err) {
		if !gone {
			a.reject(w)
		}
		return
	}
	if gone && errors.Is(err, context.Canceled) {
		return
	}
	a.opts.OnError(r, err)
	if gone {
		return
	}
	if errors.Is(err, pool.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		http.Error(w, "request timed out", a.opts.TimeoutStatus)
		return
	}
	http.Error(w, "internal server error", http.StatusInternalServerError)
}

// Shared header values of every rejection: setting a header map entry to a
// prepared slice costs no allocation, where Header.Set and http.Error
// allocate and format on every call.
var (
	textPlain = []string{"text/plain; charset=utf-8"}
	nosniff   = []string{"nosniff"}
	busyBody  = []byte("server busy, retry later\n")
)

// reject answers a request refused for lack of capacity:
// Options.RejectStatus with Retry-After.
func (a *answers) reject(w http.ResponseWriter) {
	h := w.Header()
	h["Retry-After"] = a.retry
	h["Content-Type"] = textPlain
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(a.opts.RejectStatus)
	_, _ = w.Write(busyBody)
}

func isRejection(err error) bool {
	return errors.Is(err, pool.ErrQueueFull) || errors.Is(err, pool.ErrClosed) ||
		errors.Is(err, pool.ErrPoolFailed) || errors.Is(err, ErrOverloaded)
}

// panicStack returns the stack of a panic carried by err, if any.
func panicStack(err error) string {
	if pe, ok := errors.AsType[*pool.PanicError](err); ok {
		return string(pe.Stack)
	}
	return ""
}
