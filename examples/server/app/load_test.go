package app_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestSaturation(t *testing.T) {
	t.Run("a saturated server answers 503 and is not ready, then recovers", func(t *testing.T) {
		a, srv := start(t, app.Config{Workers: 1, QueueSize: 2})
		release := make(chan struct{})
		futs := occupy(t, a.Pool(), release)

		r := get(t, srv.URL+"/api/digest?rounds=10")
		require.Equal(t, http.StatusServiceUnavailable, r.code)
		require.Equal(t, "1", r.header.Get("Retry-After"))
		require.Equal(t, http.StatusServiceUnavailable, get(t, srv.URL+"/readyz").code)
		require.Equal(t, http.StatusOK, get(t, srv.URL+"/healthz").code, "saturation is not a liveness failure")

		close(release)
		waitAll(t, futs)
		require.Equal(t, http.StatusOK, get(t, srv.URL+"/readyz").code)
		require.Equal(t, http.StatusOK, get(t, srv.URL+"/api/digest?rounds=10").code)
	})
}

func TestRejectionsCounted(t *testing.T) {
	t.Run("a request refused on arrival counts as rejected in /debug/pool and /metrics", func(t *testing.T) {
		s := serveBoth(t, app.Config{Workers: 1, QueueSize: 1})
		release, started := make(chan struct{}), make(chan struct{})
		holder, err := s.Pool().TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
		require.NoError(t, err)
		<-started
		queued := make(chan int, 1)
		go func() {
			resp, err := http.Get(s.public + "/api/digest?rounds=10")
			if err != nil {
				queued <- 0
				return
			}
			_ = resp.Body.Close()
			queued <- resp.StatusCode
		}()
		require.Eventually(t, func() bool { return s.Pool().Stats().Queued == 1 }, 10*time.Second, time.Millisecond)

		// The queue is full of the route's own requests: httpx refuses
		// this one before it reaches the pool.
		require.Equal(t, http.StatusServiceUnavailable, get(t, s.public+"/api/digest?rounds=10").code)
		require.EqualValues(t, 1, get(t, s.admin+"/debug/pool").json(t)["rejected"])
		require.Contains(t, string(get(t, s.admin+"/metrics").body), `crew_pool_tasks_total{outcome="rejected",pool="cpu"} 1`)

		close(release)
		require.Equal(t, http.StatusOK, <-queued)
		_, err = holder.Wait(bg)
		require.NoError(t, err)
	})
}

func TestGracefulShutdown(t *testing.T) {
	t.Run("shutdown completes in-flight requests and drains the pool", func(t *testing.T) {
		a, err := app.New(app.Config{Workers: 1, QueueSize: 4, Logger: quiet})
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(bg)
		served := make(chan error, 1)
		go func() { served <- a.Serve(ctx, ln, nil) }()

		release, started := make(chan struct{}), make(chan struct{})
		blocker, err := a.Pool().TrySubmit(bg, func(context.Context) error { close(started); <-release; return nil })
		require.NoError(t, err)
		<-started
		codes := make(chan int, 1)
		go func() {
			resp, err := http.Get("http://" + ln.Addr().String() + "/api/digest?rounds=10")
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
		require.Eventually(t, func() bool { return a.Pool().Stats().Queued == 1 }, 10*time.Second, time.Millisecond)

		cancel() // as SIGTERM does
		require.Eventually(t, func() bool {
			_, err := net.Dial("tcp", ln.Addr().String())
			return err != nil
		}, 10*time.Second, time.Millisecond, "the listener closes at once")
		close(release)
		require.Equal(t, http.StatusOK, <-codes, "the in-flight request is answered")
		require.NoError(t, <-served)
		_, err = blocker.Wait(bg)
		require.NoError(t, err)
		require.Equal(t, "closed", a.Pool().Stats().State)
	})
}
