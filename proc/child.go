package proc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/crewkit/crew/wire"
)

// child is the parent's handle on one child process: the protocol pipes,
// and the goroutines that forward its output and reap it. The worker that
// owns it reads the child's replies on its own goroutine, one task at a
// time, so a round trip costs no goroutine hand-off.
type child struct {
	worker int
	pid    int
	cmd    *exec.Cmd
	max    int

	wmu   sync.Mutex // serialises writes to tasks and ctrl
	tasks *os.File   // parent -> child: hello and tasks (the child's fd 3)
	ctrl  *os.File   // parent -> child: cancel requests (the child's fd 5)
	repl  *os.File   // child -> parent: answers (the child's fd 4)
	br    *bufio.Reader
	enc   wire.Encoder
	dec   wire.Decoder
	fired chan struct{} // a task's ctx callback has set repl's deadline

	broken   chan struct{} // closed when the child is unusable
	brk      sync.Once
	why      error            // set before broken is closed: why it is unusable
	exited   chan struct{}    // closed once the child is reaped
	state    *os.ProcessState // set before exited is closed
	stderr   tail
	outputs  sync.WaitGroup // the two forwarders
	pipes    []*os.File     // the read ends of stdout and stderr
	rss      *rssMeter
	warn     func(msg string, c *child, args ...any)
	codec    wire.Codec           // for posts, each decoded on its own
	post     func(body any) error // the pool's WorkerInfo.Post
	stopOnce sync.Once
	stopped  chan struct{} // closed once stop is done

	// Reporting a death between tasks (see arm): the pool's
	// WorkerInfo.Crashed once the handshake is done, set when the parent
	// itself ends the child (a stop, a kill for cause), and set by
	// whichever of wait and arm reports.
	crashed  atomic.Pointer[func(error)]
	doomed   atomic.Bool
	reported atomic.Bool
	grace    time.Duration
}

// wait reaps the child; it runs on its own goroutine.
func (c *child) wait() {
	_ = c.cmd.Wait()
	c.state = c.cmd.ProcessState
	close(c.exited)
	c.fail(nil)
	if c.crashed.Load() != nil {
		c.report()
	}
}

// arm makes the child report its death to crashed (the pool's
// WorkerInfo.Crashed) when it ends on its own, so that a child that dies
// while its worker waits for a task counts as a crash at once rather than
// when the next task finds it. A death under a task is reported too; the
// pool ignores the report once it has discarded the worker for the task's
// error. A child the parent ends itself (stop, kill for cause) is not
// reported.
func (c *child) arm(crashed func(error)) {
	c.crashed.Store(&crashed)
	if isClosed(c.exited) {
		go c.report() // it died before it was armed: wait missed it
	}
}

// report tells the pool that the child died, once, unless the parent ended
// it. It waits up to grace for the child's last stderr lines.
func (c *child) report() {
	if c.doomed.Load() || !c.reported.CompareAndSwap(false, true) {
		return
	}
	done := make(chan struct{})
	go func() { c.outputs.Wait(); close(done) }()
	t := time.NewTimer(c.grace)
	select {
	case <-done:
	case <-t.C:
	case <-c.stopped: // stopped meanwhile: drain gave up on the output
	}
	t.Stop()
	e := c.exitError(nil)
	c.warn("a child died", c, "err", e.Error())
	(*c.crashed.Load())(e)
}

// doom marks the child as ended by the parent: its death is not reported.
func (c *child) doom() { c.doomed.Store(true) }

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// fail marks the child unusable; the first reason stays.
func (c *child) fail(why error) {
	c.brk.Do(func() {
		c.why = why
		close(c.broken)
	})
}

// violate marks the child unusable for breaking the protocol and kills it.
func (c *child) violate(why error) {
	c.doom()
	c.fail(why)
	c.kill()
	c.warn("discarding a child that broke the protocol", c, "reason", why.Error())
}

// kill sends SIGKILL; it does nothing once the child is reaped, or for a
// child with no process (the fuzz test's).
func (c *child) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
	}
}

// isBroken reports whether the child is unusable; a nil child is.
func (c *child) isBroken() bool {
	if c == nil {
		return true
	}
	select {
	case <-c.broken:
		return true
	default:
		return false
	}
}

// send writes one frame; an error breaks the child.
func (c *child) send(to *os.File, f wire.Frame, deadline time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if deadline > 0 {
		_ = to.SetWriteDeadline(time.Now().Add(deadline))
		defer func() { _ = to.SetWriteDeadline(time.Time{}) }()
	}
	if err := wire.WriteFrame(to, f, c.max); err != nil {
		c.fail(fmt.Errorf("write to child: %w", err))
		c.kill()
		return err
	}
	return nil
}

// errGone is a child's reply pipe ending: the child exited or closed it.
var errGone = errors.New("reply pipe closed")

// next reads the child's next frame and checks that it may send it now: a
// handshake answer when want is 0, else an answer to task want. A frame
// the child must not send is a protocol violation; the child is then
// killed. It returns os.ErrDeadlineExceeded when repl's read deadline
// passed before a frame was complete, and errGone at the pipe's end.
func (c *child) next(want uint64) (wire.Frame, error) {
	for {
		f, err := c.read(want)
		if err != nil || f.Kind != kindPost {
			return f, err
		}
		if err := c.forward(f); err != nil {
			return f, err
		}
	}
}

// forward passes a post from the child to the pool's Messages.
func (c *child) forward(f wire.Frame) error {
	var env envelope
	if err := c.codec.NewDecoder().Decode(f.Body, &env); err != nil {
		err = fmt.Errorf("%w: cannot decode a post: %w", ErrProtocol, err)
		c.violate(err)
		return err
	}
	_ = c.post(env.V) // a full Messages buffer drops the oldest, and counts it
	return nil
}

// read reads one frame and checks it against what the protocol allows.
func (c *child) read(want uint64) (wire.Frame, error) {
	f, err := readFrame(c.br, c.max)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, errTorn):
		return f, err
	case errors.Is(err, io.EOF), errors.Is(err, os.ErrClosed):
		c.fail(nil)
		return f, errGone
	default:
		err = fmt.Errorf("%w: %w", ErrProtocol, err)
		c.violate(err)
		return f, err
	}
	if err := allowed(f, want); err != nil {
		c.violate(err)
		return f, err
	}
	return f, nil
}

// allowed checks frame f against what the protocol allows: the handshake's
// answer when want is 0, else one answer to task want.
func allowed(f wire.Frame, want uint64) error {
	switch f.Kind {
	case kindReady, kindRefuse:
		if want == 0 {
			return nil
		}
		return fmt.Errorf("%w: second handshake", ErrProtocol)
	case kindPost:
		return nil // at any time, even from a factory before its handshake
	case kindResult, kindError, kindFatal:
		if want == 0 {
			return fmt.Errorf("%w: answer before the handshake", ErrProtocol)
		}
		if f.ID != want {
			return fmt.Errorf("%w: answer to task %d, which is not running", ErrProtocol, f.ID)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown frame kind 0x%02x", ErrProtocol, f.Kind)
}

// stray reports bytes the child sent after its last answer, which no
// task asked for: a second answer, or garbage. Only what is buffered
// already is looked at.
func (c *child) stray() error {
	n := c.br.Buffered()
	if n == 0 {
		return nil
	}
	for n >= wire.HeaderSize {
		h, _ := c.br.Peek(wire.HeaderSize)
		size := int(binary.BigEndian.Uint32(h))
		if size > c.max {
			break
		}
		if wire.HeaderSize+size > n {
			if h[4] == kindPost {
				return nil // a post whose rest is still in the pipe: the next read takes it
			}
			break
		}
		f, err := readFrame(c.br, c.max)
		if err != nil {
			break
		}
		if f.Kind != kindPost {
			return allowed(f, ^uint64(0)) // no task has that ID
		}
		if err := c.forward(f); err != nil { // posted between tasks
			return err
		}
		if n = c.br.Buffered(); n == 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: %d bytes between tasks", ErrProtocol, n)
}

// watch makes a blocked read of repl return once ctx ends; the returned
// function undoes it and must be called before the next read.
func (c *child) watch(ctx context.Context) (unwatch func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() {
		_ = c.repl.SetReadDeadline(time.Now())
		c.fired <- struct{}{}
	})
	return func() {
		if !stop() {
			<-c.fired // the callback ran or is running: wait for it
		}
		_ = c.repl.SetReadDeadline(time.Time{})
	}
}

// stop ends the child and reaps it: it closes the task pipes, which the
// child takes as the signal to exit, waits up to grace or until quit is
// closed, then kills it. It returns once the child is reaped and its output
// forwarded. Only the first call does anything; later ones wait for it.
func (c *child) stop(grace time.Duration, quit <-chan struct{}) {
	c.stopOnce.Do(func() {
		c.end(grace, quit)
		close(c.stopped)
	})
	<-c.stopped
}

func (c *child) end(grace time.Duration, quit <-chan struct{}) {
	if !c.isBroken() {
		c.doom() // a healthy child the parent stops; a broken one died first
	}
	c.wmu.Lock()
	_ = c.tasks.Close()
	_ = c.ctrl.Close()
	c.wmu.Unlock()
	t := time.NewTimer(grace)
	select {
	case <-c.exited:
	case <-t.C:
	case <-quit:
	}
	t.Stop()
	c.kill()
	<-c.exited
	c.drain(grace)
	_ = c.repl.Close()
	if c.rss != nil {
		c.rss.close()
	}
}

// drain waits up to grace for the output forwarders to reach the end of
// the child's stdout and stderr, then closes them: a grandchild that kept
// them open must not keep the forwarders alive.
func (c *child) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() { c.outputs.Wait(); close(done) }()
	t := time.NewTimer(grace)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	for _, p := range c.pipes {
		_ = p.Close()
	}
	<-done
}

// death stops the child that broke under a task, and describes it. reason
// says why the parent gave up on it; nil means the child ended on its own,
// or broke the protocol as recorded.
func (c *child) death(reason error, grace time.Duration) *ExitError {
	c.stop(grace, nil)
	return c.exitError(reason)
}

// exitError describes the child, which is reaped.
func (c *child) exitError(reason error) *ExitError {
	e := &ExitError{Worker: c.worker, PID: c.pid, Reason: reason, Code: -1}
	e.Stderr, e.Fatal = c.stderr.get()
	if reason == nil && c.isBroken() {
		e.Reason = c.why
	}
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
	} else {
		e.Code = c.state.ExitCode()
	}
	return e
}
