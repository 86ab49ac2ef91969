package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"os"
	"time"

	"github.com/crewkit/crew/examples/internal/cpuwork"
	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
	"golang.org/x/crypto/bcrypt"
)

// WorkerRole is the role (proc.Role) in which the server binary serves one
// process worker of ModeProc. The binary's main checks for it first, before
// it parses flags, and then calls ServeWorker.
const WorkerRole = "crew-server-cpu"

// ServeWorker serves one process worker of ModeProc in a child that the
// server's pool started: it runs the Jobs the server sends until the server
// closes the pipe or exits. It returns proc.ErrNotWorker in a process the
// pool did not start.
func ServeWorker(ctx context.Context) error {
	return proc.Serve(ctx, func(context.Context, pool.WorkerInfo) (pool.Worker[Job, Result], error) {
		return jobWorker{}, nil
	}, proc.ServeOptions{})
}

// jobWorker runs Jobs in a process worker.
type jobWorker struct{}

func (jobWorker) Handle(ctx context.Context, j Job) (Result, error) { return j.run(ctx) }

// The kinds of Job.
const (
	jobDigest    = "digest"
	jobHash      = "hash"
	jobVerify    = "verify"
	jobThumbnail = "thumbnail"
	jobCrash     = "crash"
)

// Job is the CPU part of one request, built once the request goroutine has
// read and checked the request. In ModeProc it crosses the pipe to a
// process worker; the other modes run it on the goroutine pool or in
// place. Only the fields of its Kind are set.
type Job struct {
	Kind     string      // digest, hash, verify, thumbnail or crash
	Seed     []byte      // digest
	Rounds   int         // digest
	Password string      // hash, verify
	Hash     string      // verify
	Cost     int         // hash: bcrypt's cost
	Image    []byte      // thumbnail: the upload, checked by checkImage
	Size     image.Point // thumbnail: its size, from checkImage
	Crash    string      // crash: panic, exit or fatal

	queued time.Time // when the request queued; stays in the server
}

// Result is the answer to a Job. A request that the work refuses (a
// malformed image, an invalid hash) is a Result with Invalid set, not an
// error, so that it keeps its 400 across the pipe.
type Result struct {
	Digest  []byte // digest: the SHA-256 sum
	Hash    []byte // hash: the bcrypt hash
	Match   bool   // verify: whether the password matches the hash
	PNG     []byte // thumbnail: the encoded thumbnail
	Invalid string // verify, thumbnail: why the input is refused
}

// run does j's work on the calling goroutine.
func (j Job) run(ctx context.Context) (Result, error) {
	switch j.Kind {
	case jobDigest:
		sum, err := cpuwork.Digest(ctx, j.Seed, j.Rounds)
		return Result{Digest: sum[:]}, err
	case jobHash:
		h, err := bcrypt.GenerateFromPassword([]byte(j.Password), j.Cost)
		return Result{Hash: h}, err
	case jobVerify:
		err := bcrypt.CompareHashAndPassword([]byte(j.Hash), []byte(j.Password))
		if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return Result{Invalid: "invalid hash: " + err.Error()}, nil
		}
		return Result{Match: err == nil}, nil
	case jobThumbnail:
		out, err := scale(j.Image, j.Size)
		if errors.Is(err, errBadImage) {
			return Result{Invalid: err.Error()}, nil
		}
		return Result{PNG: out}, err
	case jobCrash:
		crashNow(ctx, j.Crash)
	}
	return Result{}, fmt.Errorf("app: unknown job kind %q", j.Kind)
}

// crashNow burns a little CPU like the other endpoints, then fails as kind
// says: a panic, an exit with ExitCodeCrash, or a fatal runtime error that
// no recover can catch (concurrent map writes). It never returns.
func crashNow(ctx context.Context, kind string) {
	_, _ = cpuwork.Digest(ctx, []byte("crash"), 10_000)
	switch kind {
	case "exit":
		fmt.Fprintln(os.Stderr, "server: /api/crash?kind=exit: exiting as a fatal error would")
		os.Exit(ExitCodeCrash)
	case "fatal":
		concurrentMapWrites()
	}
	panic("server: /api/crash?kind=panic: simulated fault in a request's work")
}

// concurrentMapWrites writes one map from two goroutines until the runtime
// notices and ends the process with "fatal error: concurrent map writes".
func concurrentMapWrites() {
	m := map[int]int{}
	for range 2 {
		go func() {
			for i := 0; ; i++ {
				m[i%1024] = i
			}
		}()
	}
	select {}
}

// startProcs starts ModeProc's pool: Config.Workers child processes, each
// one process worker, behind the same admission as ModePool.
func (a *App) startProcs() error {
	cmd := a.cfg.WorkerCommand
	if cmd == nil {
		cmd = proc.Self(WorkerRole)
	}
	children := proc.Factory[Job, Result](cmd, proc.Options{Logger: a.cfg.Logger})
	factory := func(ctx context.Context, info pool.WorkerInfo) (pool.Worker[Job, Result], error) {
		w, err := children(ctx, info)
		if err != nil {
			return nil, err
		}
		return shedding{w: w, budget: budget(a.cfg.MaxWait)}, nil
	}
	p, err := pool.New(factory, pool.Options{
		Name: "cpu", MaxWorkers: a.cfg.Workers, MinWorkers: a.cfg.Workers,
		QueueSize: a.cfg.QueueSize, TaskTimeout: a.cfg.TaskTimeout,
	})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.procs, a.mon = p, p
	a.remoteCall = httpx.Handle(p, func(r *http.Request) (Job, error) {
		return r.Context().Value(callKey{}).(*call).job, nil
	}, func(_ http.ResponseWriter, r *http.Request, out Result) {
		c := r.Context().Value(callKey{}).(*call)
		c.out, c.done = out, true
	}, httpx.Options{MaxWait: a.cfg.MaxWait, OnError: a.handlerFailed})
	return nil
}

// shedding is a process worker that sheds, without sending it to its
// child, a job that waited in the queue past its budget (Config.MaxWait),
// as Offload does in ModePool: its client is answered 503 (the pool
// counts a failure), and the latency of the requests that run stays
// bounded by the budget under overload.
type shedding struct {
	w      pool.Worker[Job, Result]
	budget time.Duration // negative: never shed
}

// budget resolves Config.MaxWait as httpx.Options does.
func budget(maxWait time.Duration) time.Duration {
	if maxWait == 0 {
		return httpx.DefaultMaxWait
	}
	return maxWait
}

func (s shedding) Handle(ctx context.Context, j Job) (Result, error) {
	if s.budget >= 0 && !j.queued.IsZero() && time.Since(j.queued) > s.budget {
		return Result{}, httpx.ErrOverloaded
	}
	return s.w.Handle(ctx, j)
}

// Retire passes on the process worker's answer (MaxRSS).
func (s shedding) Retire() bool {
	r, ok := s.w.(pool.Retirer)
	return ok && r.Retire()
}

// Receive passes a message from the pool's owner on to the child.
func (s shedding) Receive(ctx context.Context, msg any) error {
	if r, ok := s.w.(pool.Receiver); ok {
		return r.Receive(ctx, msg)
	}
	return errors.New("message undelivered: the worker does not implement pool.Receiver")
}

// Close stops the child.
func (s shedding) Close(ctx context.Context) error {
	if c, ok := s.w.(interface{ Close(context.Context) error }); ok {
		return c.Close(ctx)
	}
	return nil
}

// call is one Job through remoteCall.
type call struct {
	job  Job
	out  Result
	done bool
}

// callKey keys a request's call in its context.
type callKey struct{}

// remote runs job on a process worker with httpx.Handle's admission and
// error answers. It returns false when it has answered the request
// instead: rejected, timed out, or failed because the child crashed.
func (a *App) remote(w http.ResponseWriter, r *http.Request, job Job) (Result, bool) {
	job.queued = time.Now()
	c := &call{job: job}
	a.remoteCall.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	return c.out, c.done
}

// work runs job's CPU part: on a process worker in ModeProc, on the pool
// in ModePool (in place if the handler already runs on it), in place
// otherwise. It returns false when it has answered the request instead.
func (a *App) work(w http.ResponseWriter, r *http.Request, job Job) (Result, bool) {
	if a.procs != nil {
		return a.remote(w, r, job)
	}
	out, err := compute(r.Context(), a, job.run)
	if err != nil {
		a.writeComputeError(w, r, err)
		return out, false
	}
	return out, true
}
