package manager

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// EventKind says what happened to a child.
type EventKind int

// The lifecycle events of a child.
const (
	// EventReady: a child printed its ready line (at start, after a
	// restart, or as a reload's replacement); Status already shows it.
	EventReady EventKind = iota + 1
	// EventExited: a child exited without being asked to (Err says how).
	EventExited
	// EventRestarting: a crashed child will be started again after Delay.
	EventRestarting
	// EventGaveUp: a child crashed too often within the restart period;
	// its instance stays down (Err says why).
	EventGaveUp
	// EventReloaded: a reload replaced the child OldPID with PID.
	EventReloaded
	// EventStopped: a child exited after the manager asked it to stop.
	EventStopped
	// EventUnhealthy: a running child missed its heartbeats or reported
	// itself not ready for too long (Err says which); it is stopped and
	// then reported as EventExited with an error wrapping ErrUnhealthy.
	EventUnhealthy
)

var kindNames = map[EventKind]string{
	EventReady: "ready", EventExited: "exited", EventRestarting: "restarting",
	EventGaveUp: "gave up", EventReloaded: "reloaded", EventStopped: "stopped",
	EventUnhealthy: "unhealthy",
}

// String returns the kind's name, such as "ready".
func (k EventKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "unknown"
}

// Event is one lifecycle event of one child, passed to Options.OnEvent.
type Event struct {
	Kind     EventKind
	Instance int           // the child's instance number, from 0
	PID      int           // the child's process ID
	OldPID   int           // EventReloaded: the replaced child
	Delay    time.Duration // EventRestarting: the backoff before the restart
	Err      error         // EventExited, EventGaveUp, EventUnhealthy: the cause
}

// logEvent is the default OnEvent: one log line per event.
func logEvent(log *slog.Logger) func(Event) {
	return func(e Event) {
		attrs := []any{"instance", e.Instance, "pid", e.PID}
		level := slog.LevelInfo
		switch e.Kind {
		case EventExited:
			attrs, level = append(attrs, exitAttrs(e.Err)...), slog.LevelWarn
		case EventRestarting:
			attrs = append(attrs, "delay", e.Delay.String())
		case EventUnhealthy:
			attrs, level = append(attrs, "err", e.Err), slog.LevelWarn
		case EventGaveUp:
			attrs, level = append(attrs, "err", e.Err), slog.LevelError
		case EventReloaded:
			attrs = append(attrs, "old_pid", e.OldPID)
		case EventStopped:
			if e.Err != nil {
				attrs, level = append(attrs, "err", e.Err), slog.LevelWarn
			}
		}
		log.Log(context.Background(), level, "child "+e.Kind.String(), attrs...)
	}
}

// exitAttrs describes how a child exited: its status, and the last lines of
// its stderr as their own attribute, so that a JSON log shows the child's
// records as JSON rather than as one escaped string.
func exitAttrs(err error) []any {
	var xe *ExitError
	if !errors.As(err, &xe) {
		return []any{"err", err}
	}
	status := "exit status 0"
	if xe.Err != nil {
		status = xe.Err.Error()
	}
	attrs := []any{"exit", status}
	if len(xe.Stderr) > 0 {
		attrs = append(attrs, "stderr_tail", xe.Stderr)
	}
	return attrs
}
