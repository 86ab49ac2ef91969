package app

import (
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Mode selects how the server runs its CPU-bound endpoints.
type Mode string

// The modes of the server.
const (
	// ModePool offloads CPU work to a crew pool through httpx (the default).
	ModePool Mode = "pool"
	// ModePlain runs CPU work on the request goroutines, unbounded, as a
	// plain chi server does.
	ModePlain Mode = "plain"
	// ModeThrottle bounds CPU work with chi's middleware.Throttle.
	ModeThrottle Mode = "throttle"
	// ModeProc runs the CPU part of each request on a pool of process
	// workers (package proc): Workers child processes, started by
	// Config.WorkerCommand, behind the same httpx admission as ModePool.
	// Reading and checking requests stays on the request goroutines; only
	// the work crosses to a child, so a fatal error in it (an exit, a
	// concurrent map write, an out-of-memory abort) ends that child and
	// fails that request, and the pool starts a new child.
	ModeProc Mode = "proc"
)

// Defaults applied to zero Config fields. The package documentation
// explains the per-request budgets they set.
const (
	// DefaultMaxBodyBytes bounds an uploaded image: 8 MiB.
	DefaultMaxBodyBytes = 8 << 20
	// DefaultMaxPixels bounds the pixels an image's header declares: 40
	// megapixels.
	DefaultMaxPixels = 40_000_000
	// DefaultMaxOutputPixels bounds a thumbnail's pixels: 1024 x 4096.
	DefaultMaxOutputPixels = 1024 * 4096
	// DefaultMaxImageMemory bounds the estimated allocations of one
	// thumbnail's decoding, scaling and encoding: 256 MiB.
	DefaultMaxImageMemory = 256 << 20
	// DefaultBodyTimeout bounds reading one request body: 30s.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultTaskTimeout bounds one CPU-bound request once it runs: 10s.
	DefaultTaskTimeout = 10 * time.Second
	// DefaultShutdownTimeout bounds the graceful shutdown: 30s.
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultWriteTimeoutMargin is added to BodyTimeout and TaskTimeout to
	// make the default WriteTimeout: room to wait in the queue and to write
	// the response.
	DefaultWriteTimeoutMargin = 20 * time.Second
	// DefaultQueuePerWorker sets the default queue: this many per worker.
	DefaultQueuePerWorker = 256
)

// Config configures the server. The zero value is valid: pool mode with
// GOMAXPROCS workers, a queue of 256 per worker (a memory bound; the waiting budget sheds first), bcrypt's default cost, 8 MiB
// uploads read within 30s, 256 MiB of image work per thumbnail, and the
// default slog logger.
type Config struct {
	// Mode is ModePool, ModePlain, ModeThrottle or ModeProc. Empty means
	// ModePool.
	Mode Mode
	// Workers is how many CPU-bound requests run at once (pool, throttle
	// and proc modes; in proc mode, how many child processes run them). Zero means runtime.GOMAXPROCS(0).
	Workers int
	// QueueSize is how many CPU-bound requests may wait for a worker before
	// the server answers 503 (pool, throttle and proc modes). Zero means
	// DefaultQueuePerWorker times Workers.
	QueueSize int
	// MaxWait is the waiting budget of a CPU-bound request
	// (httpx.Options.MaxWait): how long it may wait in the queue before it
	// is shed with 503. It applies to what Offload and the process workers
	// run (/api/digest, and every endpoint in proc mode); /api/hash and
	// /api/thumbnail, which offload only their CPU part with httpx.Compute,
	// keep httpx.DefaultMaxWait. Zero means httpx.DefaultMaxWait (250ms); a
	// negative value turns the budget off.
	MaxWait time.Duration
	// MaxBodyBytes bounds uploaded images. Zero means DefaultMaxBodyBytes
	// (8 MiB).
	MaxBodyBytes int64
	// MaxPixels bounds the width times height of uploaded images, as their
	// header declares it. Zero means DefaultMaxPixels (40 megapixels).
	MaxPixels int
	// MaxOutputPixels bounds the width times height of a thumbnail. Zero
	// means DefaultMaxOutputPixels (4 Mi pixels: 1024 x 4096).
	MaxOutputPixels int
	// MaxImageMemory bounds what one thumbnail may allocate to decode,
	// scale and encode its image, as estimated from the image's header
	// before any of it is decoded; larger requests get 413. Zero means
	// DefaultMaxImageMemory (256 MiB).
	MaxImageMemory int64
	// BodyTimeout bounds reading one request's body, counted from the
	// moment its handler starts; a slower upload gets 408. Zero means
	// DefaultBodyTimeout (30s).
	BodyTimeout time.Duration
	// BcryptCost is the cost of password hashes. Zero means
	// bcrypt.DefaultCost (10).
	BcryptCost int
	// TaskTimeout is the deadline of one CPU-bound request once it runs
	// (pool and proc modes). Zero means DefaultTaskTimeout (10s).
	TaskTimeout time.Duration
	// WriteTimeout is the http.Server's WriteTimeout: the time from the end
	// of a request's headers to the end of its response, which a client
	// that reads its response slowly cannot exceed. Zero means BodyTimeout
	// plus TaskTimeout plus DefaultWriteTimeoutMargin (one minute with the
	// defaults).
	WriteTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown: two thirds for the
	// HTTP drain, the rest for the pool's (see App.Serve). Zero means
	// DefaultShutdownTimeout (30s).
	ShutdownTimeout time.Duration
	// Logger receives structured logs. Nil means slog.Default().
	Logger *slog.Logger
	// CrashEndpoint serves /api/crash, which crashes a worker or the whole
	// process on purpose (see App.Handler). False, the default, leaves it
	// out: enable it only for fault experiments.
	CrashEndpoint bool
	// WorkerCommand returns the command that starts one process worker in
	// ModeProc: a program whose main calls ServeWorker. Nil means the
	// running binary again in WorkerRole (proc.Self), whose main must check
	// proc.Role first and call ServeWorker. Other modes ignore it.
	WorkerCommand func() *exec.Cmd
	// Ready, if not nil, is called once by Serve when the server accepts
	// connections, with the address it listens on. Nil means no call.
	Ready func(addr net.Addr)
}

// withDefaults validates c and fills in its zero fields.
func (c Config) withDefaults() (Config, error) {
	switch c.Mode {
	case "":
		c.Mode = ModePool
	case ModePool, ModePlain, ModeThrottle, ModeProc:
	default:
		return c, fmt.Errorf("app: Mode must be pool, plain, throttle or proc, got %q", c.Mode)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Workers", int64(c.Workers)}, {"QueueSize", int64(c.QueueSize)}, {"MaxBodyBytes", c.MaxBodyBytes},
		{"MaxPixels", int64(c.MaxPixels)}, {"MaxOutputPixels", int64(c.MaxOutputPixels)},
		{"MaxImageMemory", c.MaxImageMemory}, {"BodyTimeout", int64(c.BodyTimeout)},
		{"TaskTimeout", int64(c.TaskTimeout)}, {"WriteTimeout", int64(c.WriteTimeout)},
		{"ShutdownTimeout", int64(c.ShutdownTimeout)},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("app: %s must be >= 0, got %d", f.name, f.v)
		}
	}
	if c.BcryptCost != 0 && (c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost) {
		return c, fmt.Errorf("app: BcryptCost must be in [%d, %d], got %d", bcrypt.MinCost, bcrypt.MaxCost, c.BcryptCost)
	}
	c.Workers = or(c.Workers, runtime.GOMAXPROCS(0))
	c.QueueSize = or(c.QueueSize, DefaultQueuePerWorker*c.Workers)
	c.MaxBodyBytes = or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.MaxPixels = or(c.MaxPixels, DefaultMaxPixels)
	c.MaxOutputPixels = or(c.MaxOutputPixels, DefaultMaxOutputPixels)
	c.MaxImageMemory = or(c.MaxImageMemory, DefaultMaxImageMemory)
	c.BodyTimeout = or(c.BodyTimeout, DefaultBodyTimeout)
	c.BcryptCost = or(c.BcryptCost, bcrypt.DefaultCost)
	c.TaskTimeout = or(c.TaskTimeout, DefaultTaskTimeout)
	c.WriteTimeout = or(c.WriteTimeout, c.BodyTimeout+c.TaskTimeout+DefaultWriteTimeoutMargin)
	c.ShutdownTimeout = or(c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func or[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
