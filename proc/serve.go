package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
)

// Role returns the role that Self gave this process, or "" when it was not
// started by Self. A program that re-executes itself as a worker checks it
// first thing in main (or TestMain) and calls Serve when it is set.
func Role() string { return os.Getenv(envRole) }

// Self returns a command function for Factory that starts the running
// binary again with args, in the given worker role (see Role), the way
// moby's reexec package does. role must not be empty.
func Self(role string, args ...string) func() *exec.Cmd {
	if role == "" {
		panic("proc: Self needs a role")
	}
	exe, err := os.Executable()
	return func() *exec.Cmd {
		return &exec.Cmd{
			Path: exe,
			Args: append([]string{exe}, args...),
			Env:  append(os.Environ(), envRole+"="+role),
			Err:  err,
		}
	}
}

// Serve runs the child side of a process worker: it builds one worker with
// factory, as a pool would, and feeds it the tasks the parent sends until
// the parent closes the pipe or exits, or ctx ends. It returns nil then,
// having closed the worker; the child's main should return. Call it in a
// binary that Factory starts, directly or through Self. It returns
// ErrNotWorker in a process that Factory did not start.
//
// Tasks run one at a time on the goroutine that called Serve, as in a
// pool. A task's ctx is cancelled when the parent asks (its caller gave up
// or its deadline passed). A panic in Handle fails the task with a
// *pool.PanicError, and the parent's pool replaces the child. WorkerInfo
// carries the parent's worker ID and pool name; its Post is not connected
// and returns pool.ErrClosed. A task that ignores its ctx keeps Serve from
// returning; the parent kills the child after its Grace.
//
// Serve panics if opts is invalid.
func Serve[In, Out any](ctx context.Context, factory pool.Factory[In, Out], opts ServeOptions) error {
	o, err := opts.withDefaults()
	if err != nil {
		panic(err)
	}
	if v := os.Getenv(envProtocol); v != strconv.Itoa(protocolVersion) {
		return fmt.Errorf("%w: %s=%q", ErrNotWorker, envProtocol, v)
	}
	// Grandchildren must neither inherit the pipes nor take themselves for
	// workers.
	for _, fd := range []int{taskFD, replyFD, ctrlFD} {
		syscall.CloseOnExec(fd)
	}
	_ = os.Unsetenv(envProtocol)
	_ = os.Unsetenv(envRole)
	// Non-blocking, so that reads park in the poller, where a task that a
	// read readies runs at once, and so that Close ends a read.
	_ = syscall.SetNonblock(taskFD, true)
	_ = syscall.SetNonblock(ctrlFD, true)
	r, w, ctrl := os.NewFile(taskFD, "crew-tasks"), os.NewFile(replyFD, "crew-replies"), os.NewFile(ctrlFD, "crew-control")
	defer w.Close()
	defer r.Close()
	defer ctrl.Close()
	stop := context.AfterFunc(ctx, func() { _ = r.Close(); _ = ctrl.Close() })
	defer stop()
	return serve(ctx, r, w, ctrl, factory, o)
}

// server is the child's end of the protocol.
type server[In, Out any] struct {
	w    io.Writer
	enc  wire.Encoder
	dec  wire.Decoder
	opts ServeOptions
	wk   pool.Worker[In, Out]

	mu     sync.Mutex // guards the running task's ID and cancel
	cur    uint64
	cancel context.CancelFunc
}

func serve[In, Out any](ctx context.Context, r io.Reader, w io.Writer, ctrl io.Reader, factory pool.Factory[In, Out], o ServeOptions) error {
	br := bufio.NewReaderSize(r, 64<<10)
	s := &server[In, Out]{w: w, enc: o.Codec.NewEncoder(), dec: o.Codec.NewDecoder(), opts: o}
	wk, err := s.handshake(ctx, br, factory)
	if err != nil {
		return err
	}
	s.wk = wk
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.control(ctrl)
	}()
	err = s.loop(ctx, br)
	if c, ok := ctrl.(io.Closer); ok {
		_ = c.Close() // ends control
	}
	<-done
	if c, ok := wk.(interface{ Close(context.Context) error }); ok {
		_ = c.Close(ctx)
	}
	return err
}

// handshake reads hello, builds the worker and answers ready, or refuse.
func (s *server[In, Out]) handshake(ctx context.Context, br *bufio.Reader, factory pool.Factory[In, Out]) (pool.Worker[In, Out], error) {
	f, err := readFrame(br, s.opts.MaxFrame)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	var h hello
	if f.Kind != kindHello {
		err = fmt.Errorf("%w: frame kind 0x%02x, want hello", ErrHandshake, f.Kind)
	} else if err = json.Unmarshal(f.Body, &h); err != nil {
		err = fmt.Errorf("%w: hello: %w", ErrHandshake, err)
	} else {
		err = check(h.Version, h.Codec, s.opts.Codec.Name())
	}
	var wk pool.Worker[In, Out]
	if err == nil {
		wk, err = build(ctx, factory, pool.WorkerInfo{ID: h.Worker, Pool: h.Pool})
	}
	if err != nil {
		_ = wire.WriteFrame(s.w, wire.Frame{Kind: kindRefuse, Body: []byte(err.Error())}, s.opts.MaxFrame)
		return nil, err
	}
	r := ready{Version: protocolVersion, Codec: s.opts.Codec.Name(), PID: os.Getpid()}
	if err := wire.WriteFrame(s.w, wire.Frame{Kind: kindReady, Body: marshal(r)}, s.opts.MaxFrame); err != nil {
		return nil, err
	}
	return wk, nil
}

func build[In, Out any](ctx context.Context, factory pool.Factory[In, Out], info pool.WorkerInfo) (w pool.Worker[In, Out], err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("proc: factory panicked: %v", v)
		}
	}()
	w, err = factory(ctx, info)
	if err == nil && w == nil {
		err = errors.New("proc: factory returned a nil worker")
	}
	if err != nil {
		err = fmt.Errorf("factory: %w", err)
	}
	return w, err
}

// loop reads tasks and runs them one at a time until the parent closes the
// pipe or ctx ends.
func (s *server[In, Out]) loop(ctx context.Context, br *bufio.Reader) error {
	for {
		f, err := readFrame(br, s.opts.MaxFrame)
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proc: read from parent: %w", err)
		}
		if f.Kind != kindTask {
			return fmt.Errorf("%w: frame kind 0x%02x from the parent", ErrProtocol, f.Kind)
		}
		var in In
		if err := s.dec.Decode(f.Body, &in); err != nil {
			return fmt.Errorf("%w: decode task %d: %w", ErrProtocol, f.ID, err)
		}
		s.run(ctx, f.ID, in)
	}
}

// control reads cancel requests until the parent closes the pipe.
func (s *server[In, Out]) control(ctrl io.Reader) {
	br := bufio.NewReader(ctrl)
	for {
		f, err := readFrame(br, s.opts.MaxFrame)
		if err != nil {
			s.mu.Lock()
			if s.cancel != nil {
				s.cancel() // the parent is gone
			}
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		if f.Kind == kindCancel && f.ID == s.cur && s.cancel != nil {
			s.cancel()
		}
		s.mu.Unlock()
	}
}

// run handles one task and writes its answer.
func (s *server[In, Out]) run(ctx context.Context, id uint64, in In) {
	tctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cur, s.cancel = id, cancel
	s.mu.Unlock()
	out, err := s.handle(tctx, in)
	s.mu.Lock()
	s.cur, s.cancel = 0, nil
	s.mu.Unlock()
	cancel()
	kind := kindResult
	var body []byte
	if err == nil {
		if body, err = s.enc.Encode(&out); err != nil {
			err = fmt.Errorf("proc: child: cannot encode the result: %w", err)
		} else if len(body) > s.opts.MaxFrame {
			// Its type descriptions, if any, are lost with it: the
			// parent must not decode from this stream again.
			err = pool.Fatal(fmt.Errorf("proc: child: result of %d bytes exceeds MaxFrame %d", len(body), s.opts.MaxFrame))
		}
	}
	if err != nil {
		kind = kindError
		var pe *pool.PanicError
		if pool.IsFatal(err) || errors.As(err, &pe) {
			kind = kindFatal // the worker's state cannot be trusted: replace the child
		}
		body, err = s.enc.Encode(wire.FromError(err))
		if err != nil {
			body, _ = s.enc.Encode(&wire.Error{Msg: err.Error()})
		}
	}
	_ = wire.WriteFrame(s.w, wire.Frame{Kind: kind, ID: id, Body: body}, s.opts.MaxFrame)
}

func (s *server[In, Out]) handle(ctx context.Context, in In) (out Out, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &pool.PanicError{Value: v, Stack: stack()}
		}
	}()
	return s.wk.Handle(ctx, in)
}
