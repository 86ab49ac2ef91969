package pool

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"
)

// MaxQueueSize is the largest bounded Options.QueueSize (2^30); New rejects
// a larger one. A queue that must hold more has to be Unbounded.
const MaxQueueSize = 1 << 30

// Defaults applied to zero Options fields.
const (
	DefaultQueueSize     = 1024
	DefaultIdleTimeout   = time.Minute
	DefaultHungGrace     = 5 * time.Second
	DefaultMessageBuffer = 64
)

// Options configures a pool. The zero value is valid: GOMAXPROCS workers
// started on demand, a bounded queue of DefaultQueueSize tasks, no task
// deadline, and the default RestartPolicy. New rejects negative values with
// an error that names the field.
type Options struct {
	// Name identifies the pool in errors, events and Stats. Default "pool".
	Name string

	// MaxWorkers is the most workers that run at once. Zero means
	// runtime.GOMAXPROCS(0). Workers are built lazily, when queued work
	// finds no idle worker.
	MaxWorkers int

	// MinWorkers is the number of workers built by New and kept even when
	// idle. Zero means none: every worker is built on demand. It must not
	// exceed MaxWorkers. New builds the first of them before it returns and
	// returns the factory's error if that build fails.
	MinWorkers int

	// IdleTimeout retires a worker above MinWorkers that has waited this
	// long for a task. Zero means DefaultIdleTimeout (one minute).
	IdleTimeout time.Duration

	// QueueSize bounds the tasks waiting for a worker; Submit waits and
	// TrySubmit fails with ErrQueueFull when it is reached. Zero means
	// DefaultQueueSize (1024), at most MaxQueueSize; Unbounded (-1) opts
	// out of the bound. The queue's slots are allocated by New, so a large
	// bound costs memory up front: a few words per slot.
	QueueSize int

	// TaskTimeout is the deadline of each task, counted from the moment a
	// worker starts it; the task's context ends then, with
	// context.DeadlineExceeded, and a task that returns an error after it
	// fails with ErrTimeout (wrapping that error). A task that returns a
	// nil error after its deadline completes with its result; its context,
	// if kept, reports context.DeadlineExceeded all the same. Zero means no
	// deadline.
	TaskTimeout time.Duration

	// HungGrace is how long a task may run past TaskTimeout, ignoring its
	// cancelled context, before its worker is declared hung: the task fails
	// with ErrTimeout, a fresh worker takes the slot, and the stuck goroutine
	// is reported in Stats and by Close. Close also waits this long for
	// cancelled tasks to return. Zero means DefaultHungGrace (five seconds).
	HungGrace time.Duration

	// MaxTasksPerWorker retires a worker after it has handled this many tasks
	// and builds a fresh one (recycling, for workers whose state grows).
	// Zero means never.
	MaxTasksPerWorker int

	// MessageBuffer is the capacity of the port on which workers post
	// messages to the pool's owner (see WorkerInfo.Post and Pool.Messages).
	// When it is full the oldest message is dropped and counted, so a worker
	// never waits for an owner that does not read. Zero means
	// DefaultMessageBuffer (64).
	MessageBuffer int

	// Restart limits how often workers are rebuilt after crashes and factory
	// failures. The zero value is the documented default policy.
	Restart RestartPolicy

	// OnEvent, if set, receives lifecycle events (workers started, exited,
	// restarted, recycled, hung; backoff; pool failed, reloaded, closed). It
	// is called from one goroutine, in order, outside every lock; a slow
	// hook delays only later events (the buffer keeps the newest 256), never
	// dispatch.
	OnEvent func(Event)

	// OnError, if set, receives the errors of tasks started by Go, which
	// have no caller waiting for them. Nil means they are logged with
	// log/slog's default logger. It runs on the worker's goroutine.
	OnError func(error)

	// NoInline makes every task run on its worker's own goroutine. By
	// default a caller that waits for its task to be over anyway (a Run
	// whose ctx cannot be cancelled, or a TryRun) and arrives while the
	// queue is empty and a worker is idle borrows that worker and calls
	// Handle on the caller's goroutine, which saves two goroutine switches
	// per task (see Pool.Run and Pool.TryRun). Set NoInline when a worker
	// depends on the goroutine it was built on, for example one whose
	// factory calls runtime.LockOSThread for a thread-bound C library. Pools
	// with a TaskTimeout never run tasks inline: the hung watchdog must be
	// able to abandon a task's goroutine.
	NoInline bool

	// CrashOnPanic makes a panic in a worker crash the process, as an
	// unrecovered panic in a goroutine does, instead of failing the task with
	// *PanicError. Default false.
	CrashOnPanic bool
}

// withDefaults validates o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = "pool"
	}
	if err := nonNegative(
		count("MaxWorkers", o.MaxWorkers),
		count("MinWorkers", o.MinWorkers),
		count("QueueSize", max(o.QueueSize, 0)), // Unbounded is checked below
		count("MaxTasksPerWorker", o.MaxTasksPerWorker),
		count("MessageBuffer", o.MessageBuffer),
		duration("IdleTimeout", o.IdleTimeout),
		duration("TaskTimeout", o.TaskTimeout),
		duration("HungGrace", o.HungGrace),
	); err != nil {
		return o, err
	}
	if o.MaxWorkers == 0 {
		o.MaxWorkers = runtime.GOMAXPROCS(0)
	}
	if o.MinWorkers > o.MaxWorkers {
		return o, fmt.Errorf("pool: MinWorkers (%d) must not exceed MaxWorkers (%d)", o.MinWorkers, o.MaxWorkers)
	}
	if o.QueueSize < Unbounded {
		return o, fmt.Errorf("pool: QueueSize must be >= 0 or Unbounded (-1), got %d", o.QueueSize)
	}
	if o.QueueSize > MaxQueueSize {
		return o, fmt.Errorf("pool: QueueSize must be <= MaxQueueSize (%d) or Unbounded (-1), got %d", MaxQueueSize, o.QueueSize)
	}
	o.QueueSize = orDefault(o.QueueSize, DefaultQueueSize)
	o.MessageBuffer = orDefault(o.MessageBuffer, DefaultMessageBuffer)
	o.IdleTimeout = orDefault(o.IdleTimeout, DefaultIdleTimeout)
	o.HungGrace = orDefault(o.HungGrace, DefaultHungGrace)
	if o.OnError == nil {
		name := o.Name
		o.OnError = func(err error) { slog.Error("task failed", "pool", name, "err", err) }
	}
	r, err := o.Restart.withDefaults()
	o.Restart = r
	return o, err
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// field is a named option value for nonNegative.
type field struct {
	name string
	v    int64
	dur  bool // v is a time.Duration, shown with its unit
}

// count is the field for an int option.
func count(name string, n int) field { return field{name, int64(n), false} }

// duration is the field for a time.Duration option.
func duration(name string, d time.Duration) field { return field{name, int64(d), true} }

// nonNegative returns an error naming the first negative field and its
// value, a duration with its unit ("-1s").
func nonNegative(fields ...field) error {
	for _, f := range fields {
		if f.v >= 0 {
			continue
		}
		if f.dur {
			return fmt.Errorf("pool: %s must be >= 0, got %v", f.name, time.Duration(f.v))
		}
		return fmt.Errorf("pool: %s must be >= 0, got %d", f.name, f.v)
	}
	return nil
}
