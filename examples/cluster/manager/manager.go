package manager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// ErrGaveUp is the error of a manager whose every instance crashed too
// often within its restart period; Err wraps it with the last cause.
var ErrGaveUp = errors.New("manager: gave up restarting")

// Manager runs N copies of a server as child processes that share one TCP
// port, restarts the ones that crash, replaces them all on Reload and stops
// them on Stop. Its methods are safe for concurrent use.
type Manager struct {
	opts           Options
	addr           string
	stdout, stderr *lockedWriter
	event          func(Event)
	instances      []*instance

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop: children get SIGTERM
	killOnce sync.Once
	killing  chan struct{} // closed when Stop's ctx ends: children get SIGKILL
	reloadMu sync.Mutex    // one Reload at a time
	done     chan struct{} // closed when every instance has ended
	err      error         // why they ended; read after done is closed
}

// Start checks that opts.Addr is free, starts opts.Instances children and
// waits until each has printed its ready line. It fails, stopping the
// children already started, when the address is in use, when a child
// exits before it is ready (the error then ends with the child's stderr),
// when a child is not ready within ReadyTimeout, or when ctx ends.
func Start(ctx context.Context, opts Options) (*Manager, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	addr, err := checkFree(opts.Addr)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		opts: opts, addr: addr, event: opts.OnEvent,
		stdout: &lockedWriter{w: opts.Stdout}, stderr: &lockedWriter{w: opts.Stderr},
		stopping: make(chan struct{}), killing: make(chan struct{}), done: make(chan struct{}),
	}
	if m.event == nil {
		m.event = logEvent(opts.Logger)
	}
	stop := context.AfterFunc(ctx, m.beginStop)
	defer stop()
	var children []*child
	for id := range opts.Instances {
		c, err := m.startChild(id)
		if err != nil {
			m.beginStop()
			for _, c := range children {
				c.stop(opts.StopTimeout, m.killing)
			}
			if ctx.Err() != nil {
				err = errors.Join(ctx.Err(), err)
			}
			return nil, err
		}
		children = append(children, c)
		m.ready(id, c)
	}
	m.run(children)
	return m, nil
}

// checkFree reports an address in use with a clear error, and resolves
// port 0 to a free port, which it returns.
func checkFree(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return "", fmt.Errorf("manager: %s is in use by another process; stop it or choose another address", addr)
	}
	if err != nil {
		return "", fmt.Errorf("manager: cannot listen on %s: %w", addr, err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startChild starts a child for instance id and waits until it is ready.
// The caller reports EventReady once Status shows the child (see ready).
func (m *Manager) startChild(id int) (*child, error) {
	c, err := m.spawn(id)
	if err != nil {
		return nil, err
	}
	if err := c.awaitReady(m.opts.ReadyTimeout, m.stopping); err != nil {
		if errors.Is(err, errStopping) {
			return nil, err
		}
		return nil, fmt.Errorf("manager: instance %d (pid %d) %w", id, c.pid, err)
	}
	return c, nil
}

// ready reports that child c of instance id is ready and in place.
func (m *Manager) ready(id int, c *child) {
	m.event(Event{Kind: EventReady, Instance: id, PID: c.pid})
}

// run starts one supervising goroutine per instance.
func (m *Manager) run(children []*child) {
	var wg sync.WaitGroup
	m.instances = make([]*instance, len(children))
	for id, c := range children {
		in := newInstance(m, id, c)
		m.instances[id] = in
		wg.Go(in.run)
	}
	go func() {
		wg.Wait()
		m.err = m.why()
		close(m.done)
	}()
}

// why explains the end of every instance: nil after Stop, ErrGaveUp with
// the last cause otherwise.
func (m *Manager) why() error {
	var last error
	for _, in := range m.instances {
		if err := in.failure(); err != nil {
			last = err
		} else {
			return nil // stopped, not failed
		}
	}
	return fmt.Errorf("%w: %w", ErrGaveUp, last)
}

// Addr returns the address the children listen on, with port 0 resolved.
func (m *Manager) Addr() string { return m.addr }

// Done returns a channel closed when every child has ended: after Stop, or
// when the manager gave up restarting every instance.
func (m *Manager) Done() <-chan struct{} { return m.done }

// Err returns nil until Done is closed; then nil after Stop, or an error
// wrapping ErrGaveUp when every instance crashed too often.
func (m *Manager) Err() error {
	select {
	case <-m.done:
		return m.err
	default:
		return nil
	}
}

func (m *Manager) beginStop() { m.stopOnce.Do(func() { close(m.stopping) }) }

// Stop sends SIGTERM to every child and blocks until all have exited. A
// child still running StopTimeout after its SIGTERM, or when ctx ends, is
// killed with SIGKILL. Stop returns an error naming the children that had
// to be killed or exited with an error; it is nil after a graceful stop.
// It is idempotent: later calls wait for the same stop.
func (m *Manager) Stop(ctx context.Context) error {
	m.beginStop()
	select {
	case <-m.done:
	case <-ctx.Done():
		m.killOnce.Do(func() { close(m.killing) })
		<-m.done
	}
	var errs []error
	for _, in := range m.instances {
		errs = append(errs, in.stopErr())
	}
	return errors.Join(errs...)
}

// Reload replaces every child, one instance at a time, without refusing
// a connection: it starts the new child, waits until it is ready, and only
// then stops the old one gracefully, so the old child finishes the
// requests it holds while the new one takes new connections. It blocks
// until every instance is replaced or ctx ends, and returns the first
// failure; an instance whose replacement fails keeps its old child.
// Instances that are restarting or gave up are skipped: they start the
// current program when they start again.
func (m *Manager) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	for _, in := range m.instances {
		if err := in.reload(ctx); err != nil {
			return err
		}
	}
	return nil
}

// stopTimeout returns how long to wait for a child after SIGTERM.
func (m *Manager) stopTimeout() time.Duration { return m.opts.StopTimeout }
