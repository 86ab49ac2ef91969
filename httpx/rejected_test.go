package httpx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// backlog queues n requests behind a held one on h, which serves s, and
// returns a function that lets them all finish and waits for them. It runs
// in a synctest bubble.
func backlog(t *testing.T, h http.Handler, s *sleeper, n int) (finish func()) {
	t.Helper()
	s.mu.Lock()
	s.hold = make(chan struct{})
	s.mu.Unlock()
	var wg sync.WaitGroup
	for range n + 1 {
		wg.Go(func() { call(bg, h, "/queued") })
		synctest.Wait()
	}
	return func() { close(s.hold); wg.Wait() }
}

func TestArrivalRejectionsAreCounted(t *testing.T) {
	t.Run("a request refused on arrival shows in Stats, the stats JSON and the dashboard", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 1})
			d := httpx.DashboardHandler(p, httpx.DashboardOptions{})
			t.Cleanup(d.Close)
			s := &sleeper{}
			h := httpx.Offload(p, httpx.Options{})(s)
			finish := backlog(t, h, s, 1)

			require.Equal(t, http.StatusServiceUnavailable, call(bg, h, "/late").Code)
			require.Equal(t, uint64(1), p.Stats().Rejected)
			var st httpx.Stats
			require.NoError(t, json.Unmarshal(call(bg, httpx.StatsHandler(p), "/").Body.Bytes(), &st))
			require.Equal(t, uint64(1), st.Rejected)
			var dd httpx.DashboardData
			require.NoError(t, json.Unmarshal(call(bg, d, "/?format=json").Body.Bytes(), &dd))
			require.Equal(t, uint64(1), dd.Stats.Rejected)
			finish()
		})
	})

	t.Run("a request refused because the queue is full counts once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 1})
			s := &sleeper{}
			h := httpx.Offload(p, httpx.Options{MaxWait: -1})(s)
			finish := backlog(t, h, s, 1)
			require.Equal(t, http.StatusServiceUnavailable, call(bg, h, "/full").Code)
			require.Equal(t, uint64(1), p.Stats().Rejected)
			finish()
			require.Equal(t, http.StatusOK, call(bg, h, "/after").Code, "the queue's places came back")
		})
	})

	t.Run("Handle and Compute count the requests they refuse on arrival", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			s := &sleeper{d: time.Second}
			h := httpx.Offload(p, httpx.Options{MaxWait: -1})(s)
			require.Equal(t, http.StatusOK, call(bg, h, "/warm").Code)
			finish := backlog(t, h, s, 2) // 2s of estimated wait: past four default budgets
			_, err := httpx.Compute(bg, p, func(context.Context) (int, error) { return 1, nil })
			require.ErrorIs(t, err, httpx.ErrOverloaded)
			require.Equal(t, uint64(1), p.Stats().Rejected)
			finish()

			typed, err := pool.NewFunc(func(_ context.Context, d time.Duration) (int, error) {
				time.Sleep(d)
				return 0, nil
			}, pool.Options{MaxWorkers: 1, QueueSize: 100})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, typed.Close(bg)) })
			_, err = typed.Run(bg, time.Second) // times one run
			require.NoError(t, err)
			for range 2 {
				_, err := typed.TrySubmit(bg, time.Second)
				require.NoError(t, err)
			}
			synctest.Wait()
			hd := httpx.Handle(typed, func(*http.Request) (time.Duration, error) { return 0, nil },
				func(http.ResponseWriter, *http.Request, int) {}, httpx.Options{MaxWait: 100 * time.Millisecond})
			require.Equal(t, http.StatusServiceUnavailable, call(bg, hd, "/").Code)
			require.Equal(t, uint64(1), typed.Stats().Rejected)
		})
	})
}
