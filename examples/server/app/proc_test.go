package app_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestProcMode(t *testing.T) {
	t.Run("every endpoint answers from child processes as it does from goroutine workers", func(t *testing.T) {
		_, inPool := start(t, app.Config{Workers: 1})
		a, srv := start(t, app.Config{Mode: app.ModeProc, Workers: 2})

		want := get(t, inPool.URL+"/api/digest?rounds=50&seed=x")
		got := get(t, srv.URL+"/api/digest?rounds=50&seed=x")
		require.Equal(t, http.StatusOK, got.code)
		require.JSONEq(t, string(want.body), string(got.body))

		h := postJSON(t, srv.URL+"/api/hash", `{"password":"swordfish"}`)
		require.Equal(t, http.StatusOK, h.code)
		hash := h.json(t)["hash"].(string)
		for pw, match := range map[string]bool{"swordfish": true, "trout": false} {
			body, err := json.Marshal(map[string]string{"password": pw, "hash": hash})
			require.NoError(t, err)
			v := postJSON(t, srv.URL+"/api/verify", string(body))
			require.Equal(t, http.StatusOK, v.code)
			require.Equal(t, match, v.json(t)["match"], pw)
		}
		bad := postJSON(t, srv.URL+"/api/verify", `{"password":"x","hash":"nope"}`)
		require.Equal(t, http.StatusBadRequest, bad.code)
		require.Contains(t, bad.json(t)["error"], "invalid hash")

		th := do(t, http.MethodPost, srv.URL+"/api/thumbnail?width=16", "image/png", pngImage(t, 64, 32))
		require.Equal(t, http.StatusOK, th.code, string(th.body))
		img, err := png.Decode(bytes.NewReader(th.body))
		require.NoError(t, err)
		require.Equal(t, 16, img.Bounds().Dx())
		require.Equal(t, 8, img.Bounds().Dy())

		// A header that passes the checks over a body that does not
		// decode: the child refuses it with a 400, as a worker does.
		broken := do(t, http.MethodPost, srv.URL+"/api/thumbnail?width=16", "image/png", hugePNG(t, 40, 40))
		require.Equal(t, http.StatusBadRequest, broken.code, string(broken.body))
		require.Contains(t, broken.json(t)["error"], "malformed image")

		st, ok := a.Stats()
		require.True(t, ok)
		require.Equal(t, 2, st.Workers)
		require.Equal(t, uint64(7), st.Completed) // the refusals are answers, not failures
	})

	t.Run("a child that exits under a request fails that request alone and is replaced", func(t *testing.T) {
		a, srv := start(t, app.Config{Mode: app.ModeProc, Workers: 1, CrashEndpoint: true})
		for i := range 2 {
			r := get(t, srv.URL+"/api/crash?kind=exit")
			require.Equal(t, http.StatusInternalServerError, r.code)
			require.Equal(t, "internal server error", r.json(t)["error"])
			// The replacement child starts in the background; a request
			// sent before it is ready may wait past the waiting budget
			// (a slow machine, -race) and be shed, so wait for it.
			require.Eventually(t, func() bool {
				st, _ := a.Stats()
				return st.Restarts == uint64(i+1) && st.Idle == 1
			}, 30*time.Second, time.Millisecond, "the child is replaced")
			require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/digest?rounds=10").code)
			st, _ := a.Stats()
			require.Equal(t, "open", st.State)
			require.Equal(t, uint64(i+1), st.Restarts)
		}
		p := get(t, srv.URL+"/api/crash?kind=panic")
		require.Equal(t, http.StatusInternalServerError, p.code)
		st, _ := a.Stats()
		require.Equal(t, uint64(3), st.Restarts, "a panicking child is replaced too")
		require.Equal(t, uint64(3), st.Failed+st.Panicked)
	})

	t.Run("the admin routes show the pool of process workers", func(t *testing.T) {
		a, _ := start(t, app.Config{Mode: app.ModeProc, Workers: 1})
		admSrv := httptest.NewServer(a.AdminHandler())
		defer admSrv.Close()
		adm := admSrv.URL
		r := get(t, adm+"/debug/pool")
		require.Equal(t, http.StatusOK, r.code)
		require.Equal(t, "cpu", r.json(t)["name"])
		m := get(t, adm+"/metrics")
		require.Contains(t, string(m.body), `crew_pool_workers_max{pool="cpu"} 1`)
		require.Equal(t, http.StatusOK, get(t, adm+"/debug/dashboard").code)
	})

	t.Run("a worker command that is not a worker fails New", func(t *testing.T) {
		_, err := app.New(app.Config{Mode: app.ModeProc, Workers: 1, Logger: quiet, WorkerCommand: func() *exec.Cmd {
			return exec.Command("true")
		}})
		require.ErrorContains(t, err, "app: ")
	})
}
