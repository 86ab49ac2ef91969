package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// logRequests logs each request once it is answered, at Info level, or at
// Warn for rejections and server errors.
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		defer func() {
			level := slog.LevelInfo
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
