package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// dashboardData serves one GET of target through d and decodes it.
func dashboardData(t *testing.T, d *httpx.Dashboard, target string) httpx.DashboardData {
	t.Helper()
	rec := dashboardGet(d, target)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var data httpx.DashboardData
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &data))
	return data
}

// sleepy returns a task that runs for d of (fake) time, and fails when fail
// is set.
func sleepy(d time.Duration, fail bool) pool.Task {
	return func(context.Context) error {
		time.Sleep(d)
		if fail {
			return errors.New("failed on purpose")
		}
		return nil
	}
}

func TestDashboardHistory(t *testing.T) {
	t.Run("a newly opened page gets the kept history and the last minute beside since start", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{Name: "cpu", MaxWorkers: 1})
			require.NoError(t, err)
			d := httpx.DashboardHandler(p, httpx.DashboardOptions{})
			t.Cleanup(func() { d.Close(); require.NoError(t, p.Close(bg)) })
			d.Start() // samples at 0s, 1s, 2s...
			time.Sleep(500 * time.Millisecond)
			// Every second, away from the samples: for the first 30s two
			// 40ms tasks, then two 10ms tasks and one 10ms failure.
			for sec := range 90 {
				if sec < 30 {
					require.NoError(t, p.Run(bg, sleepy(40*time.Millisecond, false)))
					require.NoError(t, p.Run(bg, sleepy(40*time.Millisecond, false)))
					time.Sleep(920 * time.Millisecond)
					continue
				}
				require.NoError(t, p.Run(bg, sleepy(10*time.Millisecond, false)))
				require.NoError(t, p.Run(bg, sleepy(10*time.Millisecond, false)))
				require.Error(t, p.Run(bg, sleepy(10*time.Millisecond, true)))
				time.Sleep(970 * time.Millisecond)
			}

			data := dashboardData(t, d, "/?format=json")
			require.Equal(t, int64(1000), data.IntervalMs)
			require.Equal(t, int64(60_000), data.WindowMs)
			require.Equal(t, int64(300_000), data.HistoryMs)
			require.Len(t, data.History, 90, "91 samples, at 0s to 90s, make 90 points")
			for i, pt := range data.History {
				if i > 0 {
					require.Equal(t, int64(1000), pt.T-data.History[i-1].T, "one point a second")
				}
				require.Equal(t, 0, pt.Busy, "the samples fall between tasks")
				require.Positive(t, pt.Goroutines)
				require.Positive(t, pt.HeapBytes)
				if i < 30 {
					require.Equal(t, 2.0, pt.CompletedPerSec, "point %d", i)
					require.Equal(t, 40.0, pt.RunMeanMs, "point %d", i)
					require.Equal(t, 0.0, pt.ErrorsPerSec, "point %d", i)
				} else {
					require.Equal(t, 2.0, pt.CompletedPerSec, "point %d", i)
					require.Equal(t, 1.0, pt.ErrorsPerSec, "point %d", i)
					require.Equal(t, 10.0, pt.RunMeanMs, "point %d", i)
				}
				require.Equal(t, 0.0, pt.WaitMeanMs)
			}

			w := data.Window
			require.Equal(t, 60.0, w.Seconds, "the samples at 30s and 90s")
			require.Equal(t, uint64(120), w.Completed)
			require.Equal(t, 2.0, w.CompletedPerSec)
			require.Equal(t, uint64(60), w.Errors)
			require.Equal(t, uint64(180), w.RunSampled, "every task of the last minute was timed")
			require.Equal(t, 10.0, w.RunMeanMs, "the last minute's tasks ran 10ms")
			require.Equal(t, 10.0, w.RunP50Ms, "at most 10ms: the bucket of the last minute's tasks")
			require.Equal(t, 10.0, w.RunP99Ms, "the 40ms tasks of the first half minute are out of the window")
			require.Equal(t, uint64(180), w.WaitSampled)

			s := data.Stats
			require.Equal(t, uint64(180), s.Completed)
			require.Equal(t, uint64(60), s.Failed)
			require.Equal(t, uint64(240), s.RunSampled, "every task was timed: the worker has timed fewer than 256")
			require.Equal(t, 17.5, s.RunMeanMs, "since start: 60 tasks of 40ms, 180 of 10ms")
			require.Equal(t, 40.0, s.RunMaxMs)

			since := data.History[87].T
			later := dashboardData(t, d, "/?format=json&since="+strconv.FormatInt(since, 10))
			require.Equal(t, data.History[88:], later.History, "since limits the history to newer points")

		})
	})

	t.Run("the history holds History's worth of samples", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{})
			require.NoError(t, err)
			d := httpx.DashboardHandler(p, httpx.DashboardOptions{Window: 5 * time.Second, History: 10 * time.Second})
			t.Cleanup(func() { d.Close(); require.NoError(t, p.Close(bg)) })
			dashboardGet(d, "/") // the first request starts the sampler
			time.Sleep(30*time.Second + time.Millisecond)
			data := dashboardData(t, d, "/?format=json")
			require.Len(t, data.History, 9, "10 samples make 9 points")
			require.Equal(t, time.Now().Add(-time.Millisecond).UnixMilli(), data.History[8].T)
			require.Equal(t, 5.0, data.Window.Seconds)
		})
	})

	t.Run("sampling starts with the first request, not before", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{})
			require.NoError(t, err)
			d := httpx.DashboardHandler(p, httpx.DashboardOptions{})
			t.Cleanup(func() { d.Close(); require.NoError(t, p.Close(bg)) })
			time.Sleep(10 * time.Second)
			synctest.Wait()
			require.Empty(t, dashboardData(t, d, "/?format=json").History, "one sample, taken by this request")
			time.Sleep(3*time.Second + time.Millisecond)
			require.Len(t, dashboardData(t, d, "/?format=json").History, 3)
		})
	})

	t.Run("after Close the dashboard serves the samples it has and takes no more", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewTasks(pool.Options{})
			require.NoError(t, err)
			d := httpx.DashboardHandler(p, httpx.DashboardOptions{})
			t.Cleanup(func() { d.Close(); require.NoError(t, p.Close(bg)) })
			d.Start()
			time.Sleep(2*time.Second + time.Millisecond)
			d.Close()
			d.Close()
			time.Sleep(5 * time.Second)
			d.Start()
			data := dashboardData(t, d, "/?format=json")
			require.Len(t, data.History, 2)
			require.Equal(t, "open", data.Stats.State)
		})
	})

	t.Run("Close without a request returns at once", func(t *testing.T) {
		p := newTasks(t, pool.Options{})
		httpx.DashboardHandler(p, httpx.DashboardOptions{}).Close()
	})
}
