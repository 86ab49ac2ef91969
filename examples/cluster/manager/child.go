package manager

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errStopping ends a start that the manager's Stop interrupted.
var errStopping = errors.New("manager: stopping")

// child is one running process.
type child struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time
	ready   chan struct{} // closed when the child prints its ready line
	exited  chan struct{} // closed once the process is reaped
	err     error         // how it exited; read after exited is closed
	tail    *tail         // the end of its stderr
}

// spawn starts a child for instance id; it does not wait for readiness.
func (m *Manager) spawn(id int) (*child, error) {
	o := m.opts
	cmd := exec.Command(o.Command[0], o.Command[1:]...)
	cmd.Env = append(cmd.Environ(), o.Env...)
	cmd.Env = append(cmd.Env, "CREW_ADDR="+m.addr, "CREW_REUSEPORT=1", "CREW_INSTANCE="+strconv.Itoa(id))
	cmd.SysProcAttr = sysProcAttr()
	c := &child{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{}), tail: &tail{}}
	cmd.Stderr = io.MultiWriter(m.stderr, c.tail)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("manager: instance %d: %w", id, err)
	}
	c.pid, c.started = cmd.Process.Pid, time.Now()
	go c.watch(out, m.stdout)
	return c, nil
}

// watch closes ready at the ready line, copies the rest of stdout to w,
// and reaps the process.
func (c *child) watch(out io.Reader, w io.Writer) {
	sc := bufio.NewScanner(out)
	once := sync.OnceFunc(func() { close(c.ready) })
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("ready")) {
			once()
			continue
		}
		_, _ = io.WriteString(w, sc.Text()+"\n")
	}
	_, _ = io.Copy(w, out) // past a line too long for the scanner
	c.err = c.cmd.Wait()
	close(c.exited)
}

// awaitReady waits until c is ready. It kills c and returns an error naming
// the cause when c exits first, when timeout passes, or when stop closes.
func (c *child) awaitReady(timeout time.Duration, stop <-chan struct{}) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.ready:
		return nil
	case <-c.exited:
		return fmt.Errorf("exited before it was ready: %s", c.exitReason())
	case <-t.C:
		c.kill()
		return fmt.Errorf("not ready within %v; killed", timeout)
	case <-stop:
		c.kill()
		return errStopping
	}
}

// stop asks c to shut down with SIGTERM and waits for it to exit; past
// timeout, or once kill is closed, it sends SIGKILL. It reports whether c
// exited by itself.
func (c *child) stop(timeout time.Duration, kill <-chan struct{}) bool {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.exited:
		return true
	case <-t.C:
	case <-kill:
	}
	c.kill()
	return false
}

// kill ends c with SIGKILL and waits until it is reaped.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// exitReason describes how c exited, with the end of its stderr; call it
// after exited is closed.
func (c *child) exitReason() string {
	reason := "exit status 0"
	if c.err != nil {
		reason = c.err.Error()
	}
	if t := c.tail.String(); t != "" {
		reason += "; its stderr ends with:\n" + t
	}
	return reason
}

// tailBytes is how much of a child's stderr is kept for error messages.
const tailBytes = 2048

// tail keeps the last bytes written to it. It is safe for concurrent use.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the last few lines written, trimmed.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if lines := strings.Split(s, "\n"); len(lines) > 8 {
		s = strings.Join(lines[len(lines)-8:], "\n")
	}
	return s
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
