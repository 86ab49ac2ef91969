package manager

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
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
	conn    *ipc.Conn     // the manager's end of its channel
	health  health        // its heartbeats; the instance's goroutine only
}

// spawn starts a child for instance id; it does not wait for readiness.
// The child gets its channel as descriptors 3 (from the manager) and 4 (to
// it), announced in CREW_IPC.
func (m *Manager) spawn(id int) (*child, error) {
	o := m.opts
	cmd := exec.Command(o.Command[0], o.Command[1:]...)
	cmd.Env = append(cmd.Environ(), o.Env...)
	cmd.Env = append(cmd.Env, "CREW_ADDR="+m.addr, "CREW_REUSEPORT=1", "CREW_INSTANCE="+strconv.Itoa(id), ipc.EnvVar+"=3,4")
	cmd.SysProcAttr = sysProcAttr()
	c := &child{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{}), tail: &tail{skip: o.AccessLog},
		health: health{opts: o.Health}}
	cmd.Stderr = io.MultiWriter(m.stderr, c.tail)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := newPipes()
	if err != nil {
		return nil, fmt.Errorf("manager: instance %d: %w", id, err)
	}
	cmd.ExtraFiles = []*os.File{p.childIn, p.childOut}
	err = cmd.Start()
	p.closeChildEnds()
	if err != nil {
		p.closeOurEnds()
		return nil, fmt.Errorf("manager: instance %d: %w", id, err)
	}
	c.pid, c.started = cmd.Process.Pid, time.Now()
	c.conn = ipc.NewConn(p.in, p.out, m.receiver(id, c.pid))
	go c.watch(out, m.stdout)
	return c, nil
}

// receiver returns the function that passes a message from the child pid
// of instance id to Options.OnMessage.
func (m *Manager) receiver(id, pid int) func(ipc.Message) {
	if m.opts.OnMessage == nil {
		return nil
	}
	return func(msg ipc.Message) { m.opts.OnMessage(id, pid, msg) }
}

// pipes are the two pipes of a child's channel.
type pipes struct {
	childIn, out *os.File // manager to child
	in, childOut *os.File // child to manager
}

func newPipes() (*pipes, error) {
	var p pipes
	var err error
	if p.childIn, p.out, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.in, p.childOut, err = os.Pipe(); err != nil {
		_, _ = p.childIn.Close(), p.out.Close()
		return nil, err
	}
	return &p, nil
}

// closeChildEnds closes the ends the child inherited, so that the
// manager reads EOF when the child exits.
func (p *pipes) closeChildEnds() { _, _ = p.childIn.Close(), p.childOut.Close() }

func (p *pipes) closeOurEnds() { _, _ = p.in.Close(), p.out.Close() }

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
	_ = c.conn.Close() // its errors show as missed heartbeats
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
		return fmt.Errorf("exited before it was ready: %w", c.exitError())
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

// exitError describes how c exited, with the end of its stderr; call it
// after exited is closed.
func (c *child) exitError() *ExitError {
	return &ExitError{Err: c.err, Stderr: c.tail.Lines()}
}

// ExitError says how a child exited: the error of waiting for it, and the
// last lines it wrote to stderr other than access-log lines (see
// Options.AccessLog), which say why more often than the requests before.
type ExitError struct {
	// Err is the exit status or signal, as exec.Cmd.Wait reports it; nil
	// for exit status 0.
	Err error
	// Stderr holds up to TailLines of the child's last stderr lines, oldest
	// first, each cut at TailLineBytes.
	Stderr Tail
}

// Error returns the exit status and, when there are any, the last stderr
// lines, on one line: "exit status 2; its stderr ends with: a | b".
func (e *ExitError) Error() string {
	s := "exit status 0"
	if e.Err != nil {
		s = e.Err.Error()
	}
	if len(e.Stderr) > 0 {
		s += "; its stderr ends with: " + e.Stderr.String()
	}
	return s
}

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }

// Tail is the end of a child's stderr, one line an element.
type Tail []string

// String joins the lines with " | ".
func (t Tail) String() string { return strings.Join(t, " | ") }

// MarshalJSON encodes the lines as a JSON array in which a line that is a
// JSON value (a child's structured log record) appears as that value, not
// as an escaped string.
func (t Tail) MarshalJSON() ([]byte, error) {
	out := make([]json.RawMessage, len(t))
	for i, line := range t {
		if json.Valid([]byte(line)) {
			out[i] = json.RawMessage(line)
			continue
		}
		b, err := json.Marshal(line)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return json.Marshal(out)
}

// How much of a child's stderr is kept for exit reports.
const (
	TailLines     = 8
	TailLineBytes = 1024
)

// tail keeps the last TailLines complete lines written to it, leaving out
// the ones skip reports as access logs. It is safe for concurrent use.
type tail struct {
	skip func(line []byte) bool

	mu      sync.Mutex
	partial []byte   // the line being written, cut at TailLineBytes
	lines   []string // oldest first
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for rest := p; len(rest) > 0; {
		line, after, complete := bytes.Cut(rest, []byte("\n"))
		if room := TailLineBytes - len(t.partial); room > 0 {
			t.partial = append(t.partial, line[:min(len(line), room)]...)
		}
		if !complete {
			break
		}
		t.add(t.partial)
		t.partial, rest = t.partial[:0], after
	}
	return len(p), nil
}

// add keeps line unless it is blank or an access log; t.mu is held.
func (t *tail) add(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || t.skip(line) {
		return
	}
	if len(t.lines) == TailLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, string(line))
}

// Lines returns the lines kept, and the unfinished last line if it is not
// an access log.
func (t *tail) Lines() Tail {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := slices.Clone(t.lines)
	if last := bytes.TrimSpace(t.partial); len(last) > 0 && !t.skip(last) {
		lines = append(lines, string(last))
	}
	return lines
}

// accessLog is the default Options.AccessLog: a record whose msg is
// "request", as log/slog's JSON or text handler writes it (examples/server
// logs one per request).
func accessLog(line []byte) bool {
	if line[0] == '{' {
		var rec struct {
			Msg string `json:"msg"`
		}
		return json.Unmarshal(line, &rec) == nil && rec.Msg == "request"
	}
	for f := range strings.FieldsSeq(string(line)) {
		if f == "msg=request" {
			return true
		}
	}
	return false
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
