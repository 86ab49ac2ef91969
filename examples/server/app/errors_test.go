package app_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestJSONErrors(t *testing.T) {
	t.Run("an unknown path gets a JSON 404", func(t *testing.T) {
		_, srv := start(t, app.Config{Workers: 1})
		for _, path := range []string{"/nope", "/api/nope"} {
			r := get(t, srv.URL+path)
			require.Equal(t, http.StatusNotFound, r.code, path)
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			require.Equal(t, "no endpoint at "+path, r.json(t)["error"])
		}
	})
	t.Run("a wrong method gets a JSON 405 naming the allowed ones", func(t *testing.T) {
		_, srv := start(t, app.Config{Workers: 1})
		r := get(t, srv.URL+"/api/hash")
		require.Equal(t, http.StatusMethodNotAllowed, r.code)
		require.Equal(t, "POST", r.header.Get("Allow"))
		require.Equal(t, "GET /api/hash is not served; use POST", r.json(t)["error"])
		r = postJSON(t, srv.URL+"/healthz", "{}")
		require.Equal(t, http.StatusMethodNotAllowed, r.code)
		require.Equal(t, "GET", r.header.Get("Allow"))
	})
	for _, mode := range []app.Mode{app.ModePool, app.ModeThrottle} {
		t.Run("a rejection in "+string(mode)+" mode is a JSON 503 with Retry-After", func(t *testing.T) {
			cfg := app.Config{Mode: mode, Workers: 1, QueueSize: 1}
			if mode == app.ModeThrottle {
				cfg.TaskTimeout = 100 * time.Millisecond // Throttle's backlog timeout: a waiting request gets 503 soon
			}
			a, srv := start(t, cfg)
			if mode == app.ModePool {
				release := make(chan struct{})
				futs := occupy(t, a.Pool(), release)
				defer waitAll(t, futs)
				defer close(release)
			} else {
				fillThrottle(t, srv)
			}
			for _, r := range []reply{
				get(t, srv.URL+"/api/digest?rounds=10"),              // rejected by the Offload middleware
				postJSON(t, srv.URL+"/api/hash", `{"password":"x"}`), // by Compute, through WriteError
			} {
				require.Equal(t, http.StatusServiceUnavailable, r.code)
				require.Equal(t, "1", r.header.Get("Retry-After"))
				require.Equal(t, "application/json", r.header.Get("Content-Type"))
				require.NotEmpty(t, r.json(t)["error"])
			}
		})
	}
}

// fillThrottle fills the Throttle of a server with one worker with a request
// whose body never arrives (in throttle mode a slow body holds its slot), so
// that others wait in its backlog until they time out, or are rejected when
// it is full: 503 either way. The slow request ends with the test.
func fillThrottle(t *testing.T, srv *httptest.Server) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	sendHead(t, c, http.MethodPost, "/api/hash", 100)
	require.Eventually(t, func() bool {
		return get(t, srv.URL+"/api/digest?rounds=1").code == http.StatusServiceUnavailable
	}, 10*time.Second, time.Millisecond)
}
