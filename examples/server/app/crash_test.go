package app_test

import (
	"net/http"
	"testing"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestCrashEndpoint(t *testing.T) {
	t.Run("the crash endpoint is absent unless enabled", func(t *testing.T) {
		_, srv := start(t, app.Config{Mode: app.ModePlain})
		require.Equal(t, http.StatusNotFound, get(t, srv.URL+"/api/crash").code)
	})
	t.Run("in pool mode a crash fails one request and the pool rebuilds the worker", func(t *testing.T) {
		a, srv := start(t, app.Config{Workers: 1, CrashEndpoint: true})
		for range 3 {
			r := get(t, srv.URL+"/api/crash?kind=panic")
			require.Equal(t, http.StatusInternalServerError, r.code)
			require.Contains(t, r.json(t)["error"], "worker is rebuilt")
			require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/digest?rounds=10").code)
		}
		require.Equal(t, "open", a.Pool().Stats().State)
	})
	t.Run("an unknown kind is a bad request", func(t *testing.T) {
		_, srv := start(t, app.Config{Mode: app.ModePlain, CrashEndpoint: true})
		require.Equal(t, http.StatusBadRequest, get(t, srv.URL+"/api/crash?kind=segfault").code)
	})
}
