package app

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// maxErrorText bounds the text of an error response that jsonErrors keeps.
const maxErrorText = 1 << 10

// jsonErrors makes every error response JSON, {"error": "..."}: a status of
// 400 or more written without a JSON Content-Type (http.Error's text, as
// httpx and chi's Throttle write their 503s, or Recoverer's empty 500) is
// held, and sent once the handler returns with its text as the message.
func jsonErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ew := &errorWriter{ResponseWriter: w}
		next.ServeHTTP(ew, r)
		ew.finish()
	})
}

// errorWriter is the ResponseWriter of jsonErrors.
type errorWriter struct {
	http.ResponseWriter
	code    int  // the held error status, or 0
	started bool // the response went through unchanged
	text    bytes.Buffer
}

// WriteHeader holds an error status that is not JSON, and passes on others.
func (w *errorWriter) WriteHeader(code int) {
	if w.started || w.code != 0 {
		return
	}
	ct, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if code >= http.StatusBadRequest && ct != "application/json" {
		w.code = code
		return
	}
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

// Write keeps the text of a held error, and passes on other bodies.
func (w *errorWriter) Write(b []byte) (int, error) {
	if !w.started && w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.code != 0 {
		w.text.Write(b[:min(len(b), max(0, maxErrorText-w.text.Len()))])
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes a response that is going through; a held error is
// sent when the handler returns.
func (w *errorWriter) FlushError() error {
	if w.code != 0 {
		return nil
	}
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends a held error as JSON.
func (w *errorWriter) finish() {
	if w.code == 0 {
		return
	}
	msg := strings.TrimSpace(w.text.String())
	if msg == "" {
		msg = strings.ToLower(http.StatusText(w.code))
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Del("X-Content-Type-Options")
	writeError(w.ResponseWriter, w.code, msg)
}

// notFound answers requests for a path the server does not serve.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint at %s", r.URL.Path))
}

// methodNotAllowed returns the handler for a path served with other
// methods than the request's: 405 with an Allow header listing them.
func methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
			http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not served; use %s",
			r.Method, r.URL.Path, strings.Join(allowed, " or ")))
	}
}
