package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// bodyDeadline gives each request with a body Config.BodyTimeout to send it,
// counted from now, and lifts the read deadline of requests without one, so
// that the server's background read cannot time out and cancel a request
// whose work outlasts it.
func (a *App) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var deadline time.Time
		if r.Body != nil && r.Body != http.NoBody {
			deadline = time.Now().Add(a.cfg.BodyTimeout)
		}
		_ = http.NewResponseController(w).SetReadDeadline(deadline) // ErrNotSupported off a real connection
		next.ServeHTTP(w, r)
	})
}

// readBody reads r's body, at most limit bytes, on the request goroutine and
// under the deadline bodyDeadline set. On failure it has answered: 413 for a
// body over limit, 408 for one that did not arrive in time, 400 for one cut
// short; never 200.
func (a *App) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var buf bytes.Buffer
	if n := min(r.ContentLength, limit); n > 0 {
		buf.Grow(int(n) + bytes.MinRead) // one allocation when the size is announced
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	data := buf.Bytes()
	if err == nil {
		// The body is read: the server's background read, which watches for
		// the client going away, must not time out while the work runs.
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		return data, true
	}
	code, msg := bodyError(err, limit)
	writeError(w, code, msg)
	return nil, false
}

// bodyError returns the status and message that answer a failed body read.
func bodyError(err error, limit int64) (int, string) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("body must be at most %d bytes", limit)
	}
	if ne, ok := errors.AsType[interface {
		error
		Timeout() bool
	}](err); (ok && ne.Timeout()) || errors.Is(err, os.ErrDeadlineExceeded) {
		return http.StatusRequestTimeout, "the request body did not arrive in time"
	}
	return http.StatusBadRequest, "the request body was cut short: " + err.Error()
}

// decodeJSON decodes data, one JSON value with no unknown fields and
// nothing after it, into v.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}
