package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// child is one member process.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

// children starts and stops member processes: this same binary, re-run in
// the member role.
type children struct {
	exe  string
	args []string // the member flags every child gets
	mu   sync.Mutex
	all  []*child
	pids []int
}

// start runs a member and waits until it serves.
func (c *children) start(name string) (*child, error) {
	cmd := exec.Command(c.exe, append([]string{"member", "-name", name}, c.args...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	c.mu.Lock()
	c.all = append(c.all, ch)
	c.pids = append(c.pids, cmd.Process.Pid)
	c.mu.Unlock()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan() && sc.Text() == "ready"
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(ch.done)
	}()
	select {
	case ok := <-ready:
		if !ok {
			<-ch.done
			return nil, fmt.Errorf("member %s exited before it was ready: %v", name, cmd.ProcessState)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-ch.done
		return nil, fmt.Errorf("member %s not ready after 30s", name)
	}
	return ch, nil
}

// kill ends a member at once, as a crash would.
func (ch *child) kill() {
	_ = ch.cmd.Process.Kill()
	<-ch.done
}

// stopAll asks every live member to stop (closing its stdin), and kills
// those that have not exited after grace. It returns once all have exited.
func (c *children) stopAll(grace time.Duration) {
	c.mu.Lock()
	all := c.all
	c.mu.Unlock()
	for _, ch := range all {
		_ = ch.stdin.Close()
	}
	deadline := time.After(grace)
	for _, ch := range all {
		select {
		case <-ch.done:
		case <-deadline:
			ch.kill()
		}
	}
}

// started returns the process IDs of every member started.
func (c *children) started() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.pids...)
}
