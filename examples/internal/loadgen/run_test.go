package loadgen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
	"github.com/stretchr/testify/require"
)

// serve starts a loopback server for h and a client for it; both are
// closed when the test ends.
func serve(t *testing.T, clients int, h http.HandlerFunc) (*http.Client, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	c := loadgen.NewClient(clients)
	t.Cleanup(func() {
		c.CloseIdleConnections()
		srv.Close()
	})
	return c, srv.URL
}

// rejectFirst answers 503 with retryAfter to the first k requests and 200
// to the others. It counts the requests in n.
func rejectFirst(n *atomic.Int64, k int64, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) <= k {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}
}

// waitLog records the waits a run asks for, with the requests the server
// had seen at each, and returns at once.
type waitLog struct {
	mu    sync.Mutex
	n     *atomic.Int64
	waits []time.Duration
	seen  []int64
}

func (l *waitLog) wait(_ context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits, l.seen = append(l.waits, d), append(l.seen, l.n.Load())
	return nil
}

func TestClosedLoops(t *testing.T) {
	t.Run("retrying clients send again at once after a 503", func(t *testing.T) {
		var n atomic.Int64
		c, url := serve(t, 1, rejectFirst(&n, 3, "1"))
		log := &waitLog{n: &n}
		o := loadgen.WithWait(loadgen.Options{Model: loadgen.Retry, Clients: 1, Requests: 5}, log.wait)
		res, err := loadgen.Run(t.Context(), c, url, time.Minute, o)
		require.NoError(t, err)
		require.Equal(t, 5, res.Sent)
		require.Equal(t, 3, res.Rejected)
		require.Equal(t, 2, res.OK)
		require.Empty(t, log.waits)
		require.Len(t, res.Latencies, 2)
	})
	t.Run("Retry-After clients wait what each 503 says before sending again", func(t *testing.T) {
		var n atomic.Int64
		c, url := serve(t, 1, rejectFirst(&n, 3, "2"))
		log := &waitLog{n: &n}
		o := loadgen.WithWait(loadgen.Options{Model: loadgen.RetryAfter, Clients: 1, Requests: 5}, log.wait)
		res, err := loadgen.Run(t.Context(), c, url, time.Minute, o)
		require.NoError(t, err)
		require.Equal(t, 3, res.Rejected)
		require.Equal(t, 2, res.OK)
		require.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, log.waits)
		require.Equal(t, []int64{1, 2, 3}, log.seen, "one wait after each 503, before the next request")
	})
	t.Run("Retry-After clients retry at once after a 503 without the header", func(t *testing.T) {
		var n atomic.Int64
		c, url := serve(t, 1, rejectFirst(&n, 2, ""))
		log := &waitLog{n: &n}
		o := loadgen.WithWait(loadgen.Options{Model: loadgen.RetryAfter, Clients: 1, Requests: 3}, log.wait)
		res, err := loadgen.Run(t.Context(), c, url, time.Minute, o)
		require.NoError(t, err)
		require.Equal(t, 2, res.Rejected)
		require.Empty(t, log.waits)
	})
	t.Run("a wait ends with the run", func(t *testing.T) {
		var n atomic.Int64
		c, url := serve(t, 1, rejectFirst(&n, 1, "3600"))
		res, err := loadgen.Run(t.Context(), c, url, 50*time.Millisecond,
			loadgen.Options{Model: loadgen.RetryAfter, Clients: 1})
		require.NoError(t, err)
		require.Equal(t, 1, res.Sent)
		require.Less(t, res.Elapsed, time.Hour)
	})
	t.Run("a closed loop stops by itself after its duration", func(t *testing.T) {
		c, url := serve(t, 4, func(http.ResponseWriter, *http.Request) {})
		res, err := loadgen.Run(t.Context(), c, url, 50*time.Millisecond,
			loadgen.Options{Model: loadgen.Retry, Clients: 4})
		require.NoError(t, err)
		require.Positive(t, res.OK)
		require.Equal(t, res.Sent, res.OK)
		require.Positive(t, res.Goodput())
		require.LessOrEqual(t, res.Quantile(0.5), res.Quantile(0.99))
	})
}

func TestAbandon(t *testing.T) {
	t.Run("the abandoning clients cancel their requests and the others wait", func(t *testing.T) {
		gone := make(chan struct{}, 1000)
		c, url := serve(t, 4, func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers: only the clients end requests
			gone <- struct{}{}
		})
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var res loadgen.Result
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, err = loadgen.Run(ctx, c, url, time.Minute, loadgen.Options{
				Model: loadgen.Abandon, Clients: 4, Abandon: 0.5, AbandonMax: 5 * time.Millisecond})
		}()
		for range 6 { // only the abandoning clients cancel before ctx ends
			<-gone
		}
		cancel()
		<-done
		require.NoError(t, err)
		require.Zero(t, res.OK)
		require.GreaterOrEqual(t, res.Abandoned, 6)
		require.GreaterOrEqual(t, res.Errors, 2, "the two patient clients were still waiting")
		require.LessOrEqual(t, res.Errors, 4, "one request in flight per client at most")
		require.Equal(t, res.Sent, res.Abandoned+res.Errors)
	})
}

func TestOpen(t *testing.T) {
	t.Run("the open loop paces its requests and sends them concurrently", func(t *testing.T) {
		var n atomic.Int64
		release := make(chan struct{})
		c, url := serve(t, 3, func(http.ResponseWriter, *http.Request) {
			if n.Add(1) == 3 {
				close(release)
			}
			<-release // answers only once three requests are in flight
		})
		var paced atomic.Int64
		wait := func(context.Context, time.Duration) error { paced.Add(1); return nil }
		o := loadgen.WithWait(loadgen.Options{Model: loadgen.Open, Clients: 3, Rate: 1000, Requests: 9}, wait)
		res, err := loadgen.Run(t.Context(), c, url, time.Minute, o)
		require.NoError(t, err)
		require.Equal(t, 9, res.Sent)
		require.Equal(t, 9, res.OK)
		require.EqualValues(t, 9, paced.Load())
	})
	t.Run("the open loop stops by itself after its duration", func(t *testing.T) {
		c, url := serve(t, 2, func(http.ResponseWriter, *http.Request) {})
		res, err := loadgen.Run(t.Context(), c, url, 50*time.Millisecond,
			loadgen.Options{Model: loadgen.Open, Clients: 2, Rate: 200})
		require.NoError(t, err)
		require.Positive(t, res.Sent)
		require.LessOrEqual(t, res.Sent, 20)
	})
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    loadgen.Options
		msg  string
	}{
		{"no clients is refused", loadgen.Options{Model: loadgen.Retry}, "loadgen: Clients must be >= 1, got 0"},
		{"an open loop needs a rate", loadgen.Options{Clients: 1}, "loadgen: Rate must be > 0"},
		{"a fraction above one is refused", loadgen.Options{Model: loadgen.Abandon, Clients: 1, Abandon: 1.5}, "loadgen: Abandon must be in (0, 1]"},
		{"an empty abandon range is refused", loadgen.Options{Model: loadgen.Abandon, Clients: 1, AbandonMin: 9 * time.Millisecond, AbandonMax: 2 * time.Millisecond}, "loadgen: want 0 <= AbandonMin <= AbandonMax"},
		{"an unknown model is refused", loadgen.Options{Model: 9, Clients: 1}, "loadgen: unknown Model(9)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadgen.Run(t.Context(), http.DefaultClient, "http://127.0.0.1:1/", time.Second, tc.o)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestParse(t *testing.T) {
	t.Run("model names round-trip", func(t *testing.T) {
		for _, m := range []loadgen.Model{loadgen.Open, loadgen.Retry, loadgen.RetryAfter, loadgen.Abandon} {
			got, err := loadgen.ParseModel(m.String())
			require.NoError(t, err)
			require.Equal(t, m, got)
		}
		_, err := loadgen.ParseModel("storm")
		require.ErrorContains(t, err, `loadgen: unknown model "storm"`)
	})
	t.Run("Retry-After is seconds or a date", func(t *testing.T) {
		require.Equal(t, 2*time.Second, loadgen.ParseRetryAfter("2"))
		require.Zero(t, loadgen.ParseRetryAfter(""))
		require.Zero(t, loadgen.ParseRetryAfter("soon"))
		require.Zero(t, loadgen.ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"))
	})
}

func TestNewClient(t *testing.T) {
	t.Run("the client dials loopback addresses only", func(t *testing.T) {
		c := loadgen.NewClient(1)
		defer c.CloseIdleConnections()
		_, err := c.Get("http://192.0.2.1:9/") // TEST-NET-1
		require.ErrorContains(t, err, "loadgen: 192.0.2.1:9 is not a loopback address")
	})
}
