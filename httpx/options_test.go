package httpx_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestNewRejectsMisuse(t *testing.T) {
	p := newTasks(t, pool.Options{})
	for _, tc := range []struct {
		name string
		p    *pool.Tasks
		opts httpx.Options
		msg  string
	}{
		{"a nil pool is an error", nil, httpx.Options{}, "httpx: New needs a non-nil pool"},
		{"a reject status below 400 is an error", p, httpx.Options{RejectStatus: 200}, "httpx: RejectStatus must be a 4xx or 5xx status, got 200"},
		{"a timeout status above 599 is an error", p, httpx.Options{TimeoutStatus: 600}, "httpx: TimeoutStatus must be a 4xx or 5xx status, got 600"},
		{"a negative Retry-After is an error", p, httpx.Options{RetryAfter: -time.Second}, "httpx: RetryAfter must be >= 0, got -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := httpx.New(tc.p, tc.opts)
			require.EqualError(t, err, tc.msg)
			require.PanicsWithError(t, tc.msg, func() { httpx.Offload(tc.p, tc.opts) })
		})
	}

	t.Run("a nil handler panics when the route is declared", func(t *testing.T) {
		require.PanicsWithValue(t, "httpx: Offload needs a non-nil handler", func() {
			httpx.Offload(p, httpx.Options{})(nil)
		})
	})

	t.Run("health handlers need a pool", func(t *testing.T) {
		require.PanicsWithValue(t, "httpx: StatsHandler needs a non-nil pool", func() { httpx.StatsHandler(nil) })
		require.PanicsWithValue(t, "httpx: LiveHandler needs a non-nil pool", func() { httpx.LiveHandler(nil) })
		require.PanicsWithValue(t, "httpx: ReadyHandler needs a non-nil pool", func() { httpx.ReadyHandler(nil, httpx.ReadyOptions{}) })
	})

	t.Run("a readiness threshold outside (0, 1] panics", func(t *testing.T) {
		for _, v := range []float64{-0.5, 1.5, math.NaN()} {
			require.Panics(t, func() { httpx.ReadyHandler(p, httpx.ReadyOptions{Threshold: v}) })
		}
	})

	t.Run("the zero Options is valid", func(t *testing.T) {
		o, err := httpx.New(p, httpx.Options{})
		require.NoError(t, err)
		require.Same(t, p, o.Pool())
		var _ func(http.Handler) http.Handler = o.Handler
	})
}
