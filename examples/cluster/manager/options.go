package manager

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
)

// Defaults applied to zero Options and Policy fields.
const (
	DefaultAddr           = "localhost:8080"
	DefaultReadyTimeout   = 30 * time.Second
	DefaultStopTimeout    = 30 * time.Second
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultMaxRestarts    = 5
	DefaultPeriod         = time.Minute

	DefaultHeartbeatInterval = time.Second
	DefaultMissedHeartbeats  = 10
	DefaultNotReadyGrace     = 10 * time.Second
	DefaultKillGrace         = 5 * time.Second
)

// Options configures a Manager. Only Command is required; every other zero
// field means the default its comment states.
type Options struct {
	// Command is the program to run in every child and its arguments. The
	// program must listen on the address in the CREW_ADDR environment
	// variable with SO_REUSEPORT when CREW_REUSEPORT is "1", print a line
	// starting with "ready" on stdout once it accepts connections, and shut
	// down gracefully on SIGTERM. examples/server does all three. Each
	// child also gets CREW_INSTANCE, its instance number from 0, and its
	// channel to the manager (CREW_IPC, see examples/cluster/ipc), which
	// it may use or ignore.
	Command []string
	// Instances is the number of children. Zero means runtime.NumCPU().
	Instances int
	// Addr is the TCP address the children share. Empty means
	// DefaultAddr. Port 0 picks a free port once, for every child;
	// Manager.Addr reports it.
	Addr string
	// Env is added to the environment the children inherit from the
	// manager. Nil adds nothing.
	Env []string
	// ReadyTimeout bounds the time a child may take to print its ready
	// line; past it the child is killed and counts as a failed start.
	// Zero means DefaultReadyTimeout (30s).
	ReadyTimeout time.Duration
	// StopTimeout bounds a child's graceful shutdown after SIGTERM; past
	// it the child is killed with SIGKILL. Zero means DefaultStopTimeout
	// (30s).
	StopTimeout time.Duration
	// Restart decides when a crashed child is restarted and when the
	// manager gives up on it.
	Restart Policy
	// Health decides when a child that is running but stuck is replaced.
	Health Health
	// OnMessage, if not nil, receives every message a child sends with
	// ipc.Child.Send, with the child's instance number and pid. It is
	// called on that child's reading goroutine, one message at a time and
	// never under a lock; it must be safe for concurrent use, as children
	// send at the same time, and return promptly: the child's heartbeat
	// answers wait while it runs, and count as missed if they wait too
	// long. Nil drops the messages.
	OnMessage func(instance, pid int, m ipc.Message)
	// Stdout and Stderr receive the children's output, except the ready
	// line; writes are serialised. Nil means os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// OnEvent, if not nil, is called for every lifecycle event, never
	// under a lock, from the manager's goroutines; it must be safe for
	// concurrent use. Nil means events are logged to Logger.
	OnEvent func(Event)
	// Logger receives the manager's logs when OnEvent is nil. Nil means
	// slog.Default().
	Logger *slog.Logger
	// AccessLog reports whether a line a child wrote to stderr is an
	// access-log record, which exit reports (ExitError.Stderr) leave out:
	// the lines before a crash that say why are rarely request logs. Nil
	// means a record whose msg is "request", as log/slog's JSON and text
	// handlers write it.
	AccessLog func(line []byte) bool
}

// Policy is the restart policy of the children, after pm2's
// exp_backoff_restart_delay and max_restarts: a crashed child is restarted
// after a delay that starts at InitialBackoff and doubles with every
// restart of that child within Period, up to MaxBackoff; once a child has
// been restarted MaxRestarts times within Period, the manager gives up on
// it. A child that stays up longer than Period starts again from
// InitialBackoff. There is no jitter: children crash independently.
type Policy struct {
	// InitialBackoff is the delay before the first restart. Zero means
	// DefaultInitialBackoff (100ms).
	InitialBackoff time.Duration
	// MaxBackoff caps the delay. Zero means DefaultMaxBackoff (10s).
	MaxBackoff time.Duration
	// MaxRestarts is how many restarts of one child within Period are
	// allowed. Zero means DefaultMaxRestarts (5); negative means no limit.
	MaxRestarts int
	// Period is the window over which restarts are counted. Zero means
	// DefaultPeriod (1 minute).
	Period time.Duration
}

// Health configures the health checks of the children that joined the
// manager's channel (examples/cluster/ipc); a child that never sent its
// Hello is watched only for its exit. Every Interval the manager sends a
// heartbeat, which the child must answer before the next one. A child
// that misses Missed heartbeats in a row, or that reports itself not ready
// for NotReadyGrace, is unhealthy: it gets SIGTERM, SIGKILL after
// KillGrace, and is restarted as a crashed child is, under the same
// Policy. With the defaults a wedged child is replaced 10 to 11 seconds
// after its last answer: the window is wide because an overloaded child
// answers late (its reading goroutine waits for a CPU like its requests
// do), and replacing an overloaded process only adds a restart to the
// overload.
type Health struct {
	// Interval is the time between heartbeats and the deadline of each.
	// Zero means DefaultHeartbeatInterval (1s); negative turns health
	// checks off.
	Interval time.Duration
	// Missed is how many heartbeats in a row a child may leave unanswered
	// before it is replaced. Zero means DefaultMissedHeartbeats (10).
	Missed int
	// NotReadyGrace is how long a child may report itself not ready before
	// it is replaced. Zero means DefaultNotReadyGrace (10s).
	NotReadyGrace time.Duration
	// KillGrace is how long an unhealthy child has to exit after SIGTERM
	// before it gets SIGKILL. Zero means DefaultKillGrace (5s).
	KillGrace time.Duration
}

func (h Health) withDefaults() Health {
	h.Interval = or(h.Interval, DefaultHeartbeatInterval)
	h.Missed = or(h.Missed, DefaultMissedHeartbeats)
	h.NotReadyGrace = or(h.NotReadyGrace, DefaultNotReadyGrace)
	h.KillGrace = or(h.KillGrace, DefaultKillGrace)
	return h
}

// withDefaults validates o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	if len(o.Command) == 0 || o.Command[0] == "" {
		return o, errors.New("manager: Command must name a program")
	}
	if o.Instances < 0 {
		return o, fmt.Errorf("manager: Instances must be >= 0, got %d", o.Instances)
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"ReadyTimeout", o.ReadyTimeout}, {"StopTimeout", o.StopTimeout},
		{"Restart.InitialBackoff", o.Restart.InitialBackoff},
		{"Restart.MaxBackoff", o.Restart.MaxBackoff}, {"Restart.Period", o.Restart.Period},
		{"Health.NotReadyGrace", o.Health.NotReadyGrace}, {"Health.KillGrace", o.Health.KillGrace},
	} {
		if f.v < 0 {
			return o, fmt.Errorf("manager: %s must be >= 0, got %v", f.name, f.v)
		}
	}
	if o.Health.Missed < 0 {
		return o, fmt.Errorf("manager: Health.Missed must be >= 0, got %d", o.Health.Missed)
	}
	o.Instances = or(o.Instances, runtime.NumCPU())
	o.Addr = or(o.Addr, DefaultAddr)
	o.ReadyTimeout = or(o.ReadyTimeout, DefaultReadyTimeout)
	o.StopTimeout = or(o.StopTimeout, DefaultStopTimeout)
	o.Restart = o.Restart.withDefaults()
	o.Health = o.Health.withDefaults()
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AccessLog == nil {
		o.AccessLog = accessLog
	}
	return o, nil
}

func (p Policy) withDefaults() Policy {
	p.InitialBackoff = or(p.InitialBackoff, DefaultInitialBackoff)
	p.MaxBackoff = max(or(p.MaxBackoff, DefaultMaxBackoff), p.InitialBackoff)
	p.MaxRestarts = or(p.MaxRestarts, DefaultMaxRestarts)
	p.Period = or(p.Period, DefaultPeriod)
	return p
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
