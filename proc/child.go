package proc

import (
	"bufio"
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
// the goroutines that read its replies, forward its output and reap it.
type child struct {
	worker int
	pid    int
	cmd    *exec.Cmd
	max    int

	wmu   sync.Mutex // serialises writes to tasks
	tasks *os.File   // parent -> child (the child's fd 3)
	repl  *os.File   // child -> parent (the child's fd 4)
	enc   wire.Encoder
	dec   wire.Decoder

	inflight atomic.Uint64   // the task awaiting an answer, 0 when none
	replies  chan wire.Frame // the handshake, then one answer per task
	broken   chan struct{}   // closed when the child is unusable
	brk      sync.Once
	why      error            // set before broken is closed: why it is unusable
	exited   chan struct{}    // closed once the child is reaped
	state    *os.ProcessState // set before exited is closed
	stderr   tail
	outputs  sync.WaitGroup // the two forwarders
	pipes    []*os.File     // the read ends of stdout and stderr
	reading  chan struct{}  // closed when the reply reader returns
	rss      *rssMeter
	warn     func(msg string, c *child, args ...any)
	stopOnce sync.Once
	stopped  chan struct{} // closed once stop is done
}

// errPipeClosed is why a child that closed its reply pipe is unusable.
var errPipeClosed = errors.New("closed its reply pipe")

// read delivers the child's frames until the pipe ends or the child breaks
// the protocol; it runs on its own goroutine. Before the handshake only
// ready or refuse is accepted; after it, only one answer to the task in
// flight.
func (c *child) read() {
	defer close(c.reading)
	br := bufio.NewReaderSize(c.repl, 64<<10)
	shaken := false
	for {
		f, err := wire.ReadFrame(br, c.max)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) {
				c.fail(errPipeClosed)
			} else {
				c.violate(fmt.Errorf("%w: %w", ErrProtocol, err))
			}
			return
		}
		if err := c.accept(f, &shaken); err != nil {
			c.violate(err)
			return
		}
	}
}

// accept checks one frame against the protocol's state and delivers it.
func (c *child) accept(f wire.Frame, shaken *bool) error {
	switch f.Kind {
	case kindReady, kindRefuse:
		if *shaken {
			return fmt.Errorf("%w: second handshake", ErrProtocol)
		}
		*shaken = true
	case kindResult, kindError, kindFatal:
		if !*shaken {
			return fmt.Errorf("%w: answer before the handshake", ErrProtocol)
		}
		if f.ID == 0 || !c.inflight.CompareAndSwap(f.ID, 0) {
			return fmt.Errorf("%w: answer to task %d, which is not running", ErrProtocol, f.ID)
		}
	default:
		return fmt.Errorf("%w: unknown frame kind 0x%02x", ErrProtocol, f.Kind)
	}
	c.replies <- f // never waits: one frame at a time is expected
	return nil
}

// wait reaps the child; it runs on its own goroutine.
func (c *child) wait() {
	_ = c.cmd.Wait()
	c.state = c.cmd.ProcessState
	close(c.exited)
	c.fail(nil)
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
func (c *child) send(f wire.Frame, deadline time.Duration) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if deadline > 0 {
		_ = c.tasks.SetWriteDeadline(time.Now().Add(deadline))
		defer func() { _ = c.tasks.SetWriteDeadline(time.Time{}) }()
	}
	if err := wire.WriteFrame(c.tasks, f, c.max); err != nil {
		c.violate(fmt.Errorf("write to child: %w", err))
		return err
	}
	return nil
}

// stop ends the child and reaps it: it closes the task pipe, which the
// child takes as the signal to exit, waits up to grace or until quit is
// closed, then kills it. It returns once the child is reaped and its output
// forwarded.
func (c *child) stop(grace time.Duration, quit <-chan struct{}) {
	c.stopOnce.Do(func() {
		c.end(grace, quit)
		close(c.stopped)
	})
	<-c.stopped
}

func (c *child) end(grace time.Duration, quit <-chan struct{}) {
	c.wmu.Lock()
	_ = c.tasks.Close()
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
	<-c.reading
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

// death stops the child that broke under a task, and describes it.
func (c *child) death(reason error, grace time.Duration) *ExitError {
	c.stop(grace, nil)
	e := &ExitError{Worker: c.worker, PID: c.pid, Reason: reason, Code: -1, Stderr: c.stderr.get()}
	if c.why != nil && c.why != errPipeClosed && reason == nil {
		e.Reason = c.why
	}
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
	} else {
		e.Code = c.state.ExitCode()
	}
	return e
}
