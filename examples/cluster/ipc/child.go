package ipc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"

	"github.com/crewkit/crew/wire"
)

// ChildOptions configures a child's end of the channel. The zero value is
// valid: a child that answers heartbeats as ready and drops messages.
type ChildOptions struct {
	// Report fills in the parts of a heartbeat's answer only the server
	// knows, such as Ready and Pool; RSS, Heap and Goroutines are already
	// set, LogLevel too when Level is set, and Ready is true. It runs for
	// every heartbeat on the goroutine that reads the channel. Nil leaves
	// the report as it is.
	Report func(r *Report)
	// OnMessage handles a message from the manager, on the goroutine that
	// reads the channel, in order; heartbeats wait while it runs. Nil drops
	// messages (TypeLogLevel is applied first when Level is set).
	OnMessage func(m Message)
	// Level, if not nil, is set by TypeLogLevel messages and reported in
	// Report.LogLevel. Give the same LevelVar to the server's slog handler.
	Level *slog.LevelVar
	// Logger receives the problems the channel meets, such as a message it
	// cannot decode. Nil means slog.Default().
	Logger *slog.Logger
}

// Child is a child process's end of its channel to the manager. Its
// methods are safe for concurrent use, and a nil *Child, which Open
// returns for a process started by hand, is valid: Send returns ErrClosed
// and Close does nothing.
type Child struct {
	*endpoint
	opts ChildOptions
}

// Open joins the manager named by the CREW_IPC environment variable: it
// opens the two file descriptors, sends the Hello and starts answering
// heartbeats. It returns nil, nil when CREW_IPC is unset. It unsets
// CREW_IPC and marks the descriptors close-on-exec, so the child's own
// children do not inherit the channel.
func Open(opts ChildOptions) (*Child, error) {
	spec, ok := os.LookupEnv(EnvVar)
	if !ok || spec == "" {
		return nil, nil
	}
	rfd, wfd, err := parseFDs(spec)
	if err != nil {
		return nil, err
	}
	_ = os.Unsetenv(EnvVar)
	r, w, err := openFDs(rfd, wfd)
	if err != nil {
		return nil, err
	}
	c, err := NewChild(r, w, opts)
	if err != nil {
		_, _ = r.Close(), w.Close()
		return nil, err
	}
	return c, nil
}

func parseFDs(spec string) (int, int, error) {
	a, b, ok := strings.Cut(spec, ",")
	rfd, err1 := strconv.Atoi(a)
	wfd, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rfd < 3 || wfd < 3 {
		return 0, 0, fmt.Errorf("ipc: %s must be two descriptors above 2 like \"3,4\", got %q", EnvVar, spec)
	}
	return rfd, wfd, nil
}

// NewChild starts a child's end of a channel on r (from the manager) and w
// (to it): it sends the Hello and answers heartbeats until the manager's
// end closes or Close is called. Open calls it; tests and other transports
// may too. Closing the Child closes r and w if they are io.Closers.
func NewChild(r io.Reader, w io.Writer, opts ChildOptions) (*Child, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Child{endpoint: newEndpoint(r, w), opts: opts}
	if err := c.write(context.Background(), kindHello, 0, Hello{Version: Version, PID: os.Getpid()}); err != nil {
		return nil, fmt.Errorf("ipc: hello: %w", err)
	}
	go c.read(c.handle)
	return c, nil
}

// Send sends m to the manager, where Options.OnMessage receives it. It
// blocks until m is written to the pipe or ctx ends.
func (c *Child) Send(ctx context.Context, m Message) error {
	if c == nil {
		return ErrClosed
	}
	return c.write(ctx, kindMessage, 0, m)
}

// Close closes the channel and waits until its reading goroutine returns,
// which waits for a running OnMessage. The manager then sees the child as
// silent: close the channel only on the way out.
func (c *Child) Close() error {
	if c == nil {
		return nil
	}
	return c.shutdown()
}

// Done returns a channel closed when the channel ends: the manager closed
// it or is gone, or Close was called. It is nil for a nil *Child.
func (c *Child) Done() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.done
}

func (c *Child) handle(f wire.Frame) error {
	switch f.Kind {
	case kindPing:
		return c.write(context.Background(), kindPong, f.ID, c.report())
	case kindMessage:
		var m Message
		if err := c.dec.Decode(f.Body, &m); err != nil {
			c.opts.Logger.Warn("ipc: dropped a message from the manager", "err", err)
			return nil
		}
		c.apply(m)
		if c.opts.OnMessage != nil {
			c.opts.OnMessage(m)
		}
		return nil
	}
	return fmt.Errorf("ipc: unexpected frame kind %d from the manager", f.Kind)
}

// apply handles the messages the Child understands itself.
func (c *Child) apply(m Message) {
	if m.Type != TypeLogLevel || c.opts.Level == nil {
		return
	}
	var name string
	var l slog.Level
	err := m.Decode(&name)
	if err == nil {
		err = l.UnmarshalText([]byte(name))
	}
	if err != nil {
		c.opts.Logger.Warn("ipc: ignored a log level", "err", err)
		return
	}
	c.opts.Level.Set(l)
	c.opts.Logger.Info("log level set by the manager", "level", l.String())
}

func (c *Child) report() Report {
	r := Report{Ready: true, RSS: selfRSS(), Heap: heapBytes(), Goroutines: runtime.NumGoroutine()}
	if c.opts.Level != nil {
		r.LogLevel = c.opts.Level.Level().String()
	}
	if c.opts.Report != nil {
		c.opts.Report(&r)
	}
	return r
}

// heapBytes reads the bytes of heap objects, live or not yet swept,
// without stopping the world.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// selfRSS reads this process's resident memory from /proc/self/statm.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
