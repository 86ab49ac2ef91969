package proc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
)

// Factory returns a pool.Factory whose every worker is one child process,
// started with the command that cmd returns and served by Serve in the
// child. Give it to pool.New to get a pool of processes with every pool
// feature:
//
//	p, err := pool.New(proc.Factory[In, Out](cmd, proc.Options{}), pool.Options{MaxWorkers: 4})
//
// cmd is called once per child and must return a new, unstarted command;
// use Self to start the running binary again in a worker role. Factory
// sets the command's ExtraFiles (fds 3 to 5 carry the protocol; the
// command's own ExtraFiles follow from fd 6), Stdout and Stderr (forwarded
// line by line, see Options.Output), and adds to its Env (the parent's
// environment when empty). A worker's build returns once its child has
// built its own worker and completed the handshake.
//
// Factory panics if opts is invalid: a negative field is a programmer
// error, reported with a message naming the field.
func Factory[In, Out any](cmd func() *exec.Cmd, opts Options) pool.Factory[In, Out] {
	o, err := opts.withDefaults()
	if err != nil {
		panic(err)
	}
	if cmd == nil {
		panic("proc: Factory needs a command")
	}
	f := &factory{cmd: cmd, opts: o, sink: &sink{out: o.Output, logger: o.Logger}}
	return func(ctx context.Context, info pool.WorkerInfo) (pool.Worker[In, Out], error) {
		c, err := f.start(ctx, info)
		if err != nil {
			return nil, err
		}
		return &worker[In, Out]{f: f, info: info, c: c}, nil
	}
}

// factory holds what all children of one Factory share.
type factory struct {
	cmd  func() *exec.Cmd
	opts Options
	sink *sink
}

// start starts a child and completes its handshake.
func (f *factory) start(ctx context.Context, info pool.WorkerInfo) (*child, error) {
	c, err := f.spawn(info.ID)
	if err != nil {
		return nil, err
	}
	c.post = info.Post
	if err := f.handshake(ctx, c, info); err != nil {
		return nil, err
	}
	c.arm(info.Crashed)
	return c, nil
}

// spawn starts the child process and the goroutines that serve it.
func (f *factory) spawn(id int) (c *child, err error) {
	cmd := f.cmd()
	if cmd == nil {
		return nil, errors.New("proc: the command function returned nil")
	}
	var files []*os.File // every end of every pipe, closed on failure
	pipe := func() (r, w *os.File) {
		if err == nil {
			r, w, err = os.Pipe()
			files = append(files, r, w)
		}
		return r, w
	}
	taskR, taskW := pipe()
	replR, replW := pipe()
	ctrlR, ctrlW := pipe()
	outR, outW := pipe()
	errR, errW := pipe()
	if err != nil {
		closeAll(files)
		return nil, fmt.Errorf("proc: pipe: %w", err)
	}
	cmd.ExtraFiles = append([]*os.File{taskR, replW, ctrlR}, cmd.ExtraFiles...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, outW, errW
	cmd.Env = f.env(cmd.Env)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		closeAll(files)
		return nil, fmt.Errorf("proc: worker %d: start %s: %w", id, cmd.Path, err)
	}
	closeAll([]*os.File{taskR, replW, ctrlR, outW, errW}) // the child's ends
	c = &child{
		worker: id, pid: cmd.Process.Pid, cmd: cmd, max: f.opts.MaxFrame,
		tasks: taskW, ctrl: ctrlW, repl: replR, br: bufio.NewReaderSize(replR, 64<<10),
		enc: f.opts.Codec.NewEncoder(), dec: f.opts.Codec.NewDecoder(), fired: make(chan struct{}, 1),
		broken: make(chan struct{}), exited: make(chan struct{}), stopped: make(chan struct{}),
		stderr: tail{max: f.opts.StderrLines}, pipes: []*os.File{outR, errR}, warn: f.warn,
		codec: f.opts.Codec, grace: f.opts.Grace,
	}
	limitErr := error(nil)
	if f.opts.MemoryLimit > 0 {
		limitErr = limitData(c.pid, f.opts.MemoryLimit)
	}
	go c.wait()
	c.outputs.Add(2)
	go func() {
		defer c.outputs.Done()
		forward(outR, func(s string) { f.sink.line(id, c.pid, "stdout", s) }, nil)
	}()
	go func() {
		defer c.outputs.Done()
		forward(errR, func(s string) { f.sink.line(id, c.pid, "stderr", s) }, &c.stderr)
	}()
	if limitErr != nil {
		c.doom()
		c.kill()
		c.stop(f.opts.Grace, nil)
		return nil, fmt.Errorf("proc: worker %d: %w", id, limitErr)
	}
	if f.opts.MaxRSS > 0 {
		c.rss, _ = openRSS(c.pid) // nil when unsupported: never recycled
	}
	return c, nil
}

// warn logs a notice about child c to Options.Logger, if set.
func (f *factory) warn(msg string, c *child, args ...any) {
	if l := f.opts.Logger; l != nil {
		l.Warn("proc: "+msg, append([]any{"worker", c.worker, "pid", c.pid}, args...)...)
	}
}

// env returns the child's environment.
func (f *factory) env(base []string) []string {
	if base == nil {
		base = os.Environ()
	}
	env := append(base[:len(base):len(base)], envProtocol+"="+strconv.Itoa(protocolVersion))
	if f.opts.GoMemLimit > 0 {
		env = append(env, "GOMEMLIMIT="+strconv.FormatInt(f.opts.GoMemLimit, 10))
	}
	return env
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}

// handshake sends hello and waits for ready. On failure the child is
// stopped and reaped, and the error matches ErrHandshake.
func (f *factory) handshake(ctx context.Context, c *child, info pool.WorkerInfo) error {
	err := c.send(c.tasks, wire.Frame{Kind: kindHello, Body: marshal(hello{
		Version: protocolVersion, Codec: f.opts.Codec.Name(), Worker: info.ID, Pool: info.Pool,
	})}, f.opts.StartTimeout)
	if err == nil {
		err = f.await(ctx, c)
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrHandshake) {
		err = fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	c.doom()
	c.kill()
	return c.death(err, f.opts.Grace)
}

// await reads the child's answer to hello.
func (f *factory) await(ctx context.Context, c *child) error {
	_ = c.repl.SetReadDeadline(time.Now().Add(f.opts.StartTimeout))
	unwatch := c.watch(ctx)
	fr, err := c.next(0)
	unwatch()
	switch {
	case errors.Is(err, errGone):
		return errors.New("no answer")
	case errors.Is(err, os.ErrDeadlineExceeded):
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("no handshake within %v", f.opts.StartTimeout)
	case err != nil:
		return err
	case fr.Kind == kindRefuse:
		return fmt.Errorf("refused: %s", fr.Body)
	}
	var r ready
	if err := json.Unmarshal(fr.Body, &r); err != nil {
		return fmt.Errorf("%w: ready: %w", ErrProtocol, err)
	}
	return check(r.Version, r.Codec, f.opts.Codec.Name())
}
