package proc

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/crewkit/crew/wire"
)

// Defaults applied to zero Options and ServeOptions fields.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultGrace        = time.Second
	DefaultStderrLines  = 10
)

// Options configures the process workers made by Factory. The zero value is
// valid: gob on the wire, no memory limits, child output forwarded to the
// parent's stdout and stderr. Factory rejects negative values with an
// error that names the field.
type Options struct {
	// Codec encodes tasks, results and errors on the protocol pipe; the
	// child must use the same one (the handshake checks). Default wire.Gob.
	Codec wire.Codec

	// MaxFrame limits the size of one encoded task or reply in bytes. A
	// larger task fails its caller with ErrEncode, and the child is
	// replaced before the next task (a gob stream may have described a
	// type in the frame that was not sent); a larger reply discards the
	// child. Zero means wire.DefaultMaxFrame (64 MiB).
	MaxFrame int

	// StartTimeout bounds the start of a child: from the exec to its
	// handshake, which it sends once its worker is built. A child that
	// misses it is killed and the build fails with ErrHandshake. Zero means
	// DefaultStartTimeout (10 seconds).
	StartTimeout time.Duration

	// Grace is how long a child may take to answer once its task's ctx has
	// ended, and to exit once its worker is closed, before it is killed
	// with SIGKILL. Keep it below the pool's HungGrace, so that a hung task
	// ends in a kill rather than in an abandoned goroutine. Zero means
	// DefaultGrace (one second).
	Grace time.Duration

	// MemoryLimit is a hard limit on a child's data segment in bytes
	// (RLIMIT_DATA, Linux only), enforced by the kernel: an allocation past
	// it fails, and a Go child dies with "out of memory". Zero means no
	// limit.
	MemoryLimit int64

	// GoMemLimit is the GOMEMLIMIT given to a child, the soft limit at which
	// its garbage collector works harder. Zero means nine tenths of
	// MemoryLimit when that is set, and the child's own setting otherwise.
	GoMemLimit int64

	// MaxRSS recycles a child whose resident memory (VmRSS, Linux only) is
	// above this many bytes after a task: the task's result is delivered,
	// the child is closed gracefully and a fresh one takes its place before
	// the next task. Checking costs one read of /proc per task. Zero means
	// never.
	MaxRSS int64

	// Output receives each line the child writes to stdout or stderr,
	// prefixed with "worker N: ". Nil means the parent's own stdout and
	// stderr. Writes are serialised across the factory's children.
	Output io.Writer

	// Logger, if set, receives each line of the child's output instead of
	// Output, at Info level with the worker, pid and stream as attributes.
	// Recycling and the replacement of a child that died between tasks
	// are logged to it at Warn level.
	Logger *slog.Logger

	// StderrLines is how many of the child's last stderr lines an error
	// about its death carries. Zero means DefaultStderrLines (10).
	StderrLines int
}

func (o Options) withDefaults() (Options, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxFrame", int64(o.MaxFrame)}, {"StartTimeout", int64(o.StartTimeout)}, {"Grace", int64(o.Grace)},
		{"MemoryLimit", o.MemoryLimit}, {"GoMemLimit", o.GoMemLimit}, {"MaxRSS", o.MaxRSS},
		{"StderrLines", int64(o.StderrLines)},
	} {
		if f.v < 0 {
			if f.name == "StartTimeout" || f.name == "Grace" {
				return o, fmt.Errorf("proc: %s must be >= 0, got %v", f.name, time.Duration(f.v))
			}
			return o, fmt.Errorf("proc: %s must be >= 0, got %d", f.name, f.v)
		}
	}
	if o.Codec == nil {
		o.Codec = wire.Gob
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = wire.DefaultMaxFrame
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.GoMemLimit == 0 && o.MemoryLimit > 0 {
		o.GoMemLimit = o.MemoryLimit / 10 * 9
	}
	if o.StderrLines == 0 {
		o.StderrLines = DefaultStderrLines
	}
	return o, nil
}

// ServeOptions configures the child side, Serve. The zero value is valid
// and matches the zero Options of the parent.
type ServeOptions struct {
	// Codec must be the parent's Options.Codec. Default wire.Gob.
	Codec wire.Codec

	// MaxFrame limits the size of one encoded task or reply in bytes. Zero
	// means wire.DefaultMaxFrame (64 MiB).
	MaxFrame int
}

func (o ServeOptions) withDefaults() (ServeOptions, error) {
	if o.MaxFrame < 0 {
		return o, fmt.Errorf("proc: MaxFrame must be >= 0, got %d", o.MaxFrame)
	}
	if o.Codec == nil {
		o.Codec = wire.Gob
	}
	if o.MaxFrame == 0 {
		o.MaxFrame = wire.DefaultMaxFrame
	}
	return o, nil
}
