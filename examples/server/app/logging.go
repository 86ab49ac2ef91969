package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// rejectLogEvery is the shortest interval between two log lines counting
// rejected requests.
const rejectLogEvery = time.Second

// adminLogLevel is the level of the admin listener's request logs: below
// the default, so that a dashboard or a scraper polling every second adds
// no line to the log.
const adminLogLevel = slog.LevelDebug

// logRequests logs each request once it is answered, at Info level, or at
// Warn for server errors. Rejections (503 with Retry-After) are not logged
// one by one, which would flood the log exactly when the server is
// overloaded: rejects counts them and logs their number at most once a
// second.
func (a *App) logRequests(next http.Handler) http.Handler {
	return a.logRequestsAt(slog.LevelInfo)(next)
}

// logRequestsAt is logRequests with level in place of Info.
func (a *App) logRequestsAt(level slog.Level) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return a.requestLog(level, next) }
}

// requestLog is the middleware of logRequestsAt.
func (a *App) requestLog(base slog.Level, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		defer func() {
			if ww.Status() == http.StatusServiceUnavailable && ww.Header().Get("Retry-After") != "" {
				a.rejects.add()
				return
			}
			level := base
			if ww.Status() >= 500 {
				level = slog.LevelWarn
			}
			a.cfg.Logger.Log(r.Context(), level, "request",
				"method", r.Method, "path", r.URL.Path, "status", ww.Status(), "bytes", ww.BytesWritten(),
				"duration_ms", float64(time.Since(start).Microseconds())/1000,
				"request_id", middleware.GetReqID(r.Context()), "client_gone", r.Context().Err() != nil)
		}()
		next.ServeHTTP(ww, r)
	})
}

// rejectLog counts rejected requests and logs their number, at Warn level,
// at most once per rejectLogEvery: the first rejection after a quiet
// interval at once, later ones when the interval has passed. It is safe for
// concurrent use; a pending line is a timer, not a goroutine.
type rejectLog struct {
	log *slog.Logger

	mu      sync.Mutex
	pending int         // rejections not logged yet
	last    time.Time   // when the last line was logged
	timer   *time.Timer // logs pending when the interval has passed, or nil
}

// add counts one rejection.
func (l *rejectLog) add() {
	l.mu.Lock()
	l.pending++
	if l.timer != nil {
		l.mu.Unlock()
		return
	}
	wait := rejectLogEvery - time.Since(l.last)
	if wait > 0 {
		l.timer = time.AfterFunc(wait, l.flush)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.flush()
}

// flush logs the pending count, if any.
func (l *rejectLog) flush() {
	now := time.Now()
	l.mu.Lock()
	n, since := l.pending, l.last
	l.pending, l.last, l.timer = 0, now, nil
	l.mu.Unlock()
	if n > 0 {
		l.log.Log(context.Background(), slog.LevelWarn, "requests rejected", "count", n,
			"window_ms", sinceMillis(since, now))
	}
}

// stop logs the pending count at once and cancels the timer.
func (l *rejectLog) stop() {
	l.mu.Lock()
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	l.flush()
}

// sinceMillis returns the milliseconds from since to now, or 0 for a zero
// since.
func sinceMillis(since, now time.Time) int64 {
	if since.IsZero() {
		return 0
	}
	return now.Sub(since).Milliseconds()
}
