package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/require"
)

// sleeper is a handler that takes d of (virtual) time, or waits for hold
// when it is set, and counts its runs.
type sleeper struct {
	d    time.Duration
	hold chan struct{}
	mu   sync.Mutex
	runs []string
}

func (s *sleeper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.runs = append(s.runs, r.URL.Path)
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		<-hold
	} else {
		time.Sleep(s.d)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *sleeper) ran() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.runs...)
}

// storeMax raises v to d if d is larger.
func storeMax(v *atomic.Int64, d time.Duration) {
	for {
		old := v.Load()
		if int64(d) <= old || v.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// call serves one request through h and returns its recorder.
func call(ctx context.Context, h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
	return rec
}

func TestAdmissionByWaitingTime(t *testing.T) {
	t.Run("a request that would wait past four budgets is rejected at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			s := &sleeper{d: 100 * time.Millisecond}
			h := httpx.Offload(p, httpx.Options{MaxWait: 70 * time.Millisecond})(s)
			require.Equal(t, http.StatusOK, call(bg, h, "/warm").Code) // times one run: 100ms
			s.mu.Lock()
			s.hold = make(chan struct{})
			s.mu.Unlock()
			var wg sync.WaitGroup
			codes := make(chan int, 4)
			for _, path := range []string{"/busy", "/q1", "/q2", "/q3"} {
				wg.Go(func() { codes <- call(bg, h, path).Code })
				synctest.Wait() // each is queued before the next arrives
			}
			require.Equal(t, 3, p.Stats().Queued)
			require.Equal(t, 300*time.Millisecond, p.EstimatedWait())

			start := time.Now()
			rec := call(bg, h, "/late")
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			require.Equal(t, "1", rec.Header().Get("Retry-After"))
			require.Zero(t, time.Since(start), "rejected without waiting")
			require.Equal(t, uint64(1), p.Stats().Rejected, "the arrival refusal is counted")

			close(s.hold)
			wg.Wait()
			close(codes)
			for code := range codes {
				require.Equal(t, http.StatusOK, code)
			}
			require.NotContains(t, s.ran(), "/late")
		})
	})

	t.Run("a request that waited past the budget is shed without running", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			s := &sleeper{d: 100 * time.Millisecond}
			h := httpx.Offload(p, httpx.Options{MaxWait: 50 * time.Millisecond})(s)
			var wg sync.WaitGroup
			var first, second *httptest.ResponseRecorder
			wg.Go(func() { first = call(bg, h, "/first") })
			synctest.Wait()
			wg.Go(func() { second = call(bg, h, "/second") }) // nothing timed yet: admitted
			wg.Wait()
			require.Equal(t, http.StatusOK, first.Code)
			require.Equal(t, http.StatusServiceUnavailable, second.Code)
			require.NotEmpty(t, second.Header().Get("Retry-After"))
			require.Equal(t, []string{"/first"}, s.ran())
			st := p.Stats()
			require.Zero(t, st.Failed, "a shed request is not a failure")
			require.Equal(t, uint64(1), st.Canceled, "it never ran")
			require.Equal(t, uint64(1), st.Completed)
		})
	})

	t.Run("by default a closed population whose queue outlasts the budget is held to the budget", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const run, maxWait = 10 * time.Millisecond, 50 * time.Millisecond
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			h := httpx.Offload(p, httpx.Options{MaxWait: maxWait})(&sleeper{d: run})
			// The same 15 clients as with ShedOnlyFloods below, each sending
			// its next request as soon as it has an answer.
			var wg sync.WaitGroup
			var ok, slowest atomic.Int64
			for range 15 {
				wg.Go(func() {
					for range 10 {
						start := time.Now()
						if call(bg, h, "/").Code == http.StatusOK {
							ok.Add(1)
							storeMax(&slowest, time.Since(start))
						}
					}
				})
			}
			wg.Wait()
			require.Positive(t, p.Stats().Canceled, "requests past the budget were shed")
			require.Positive(t, ok.Load())
			require.LessOrEqual(t, time.Duration(slowest.Load()), maxWait+run, "no success waited past the budget")
		})
	})

	t.Run("with ShedOnlyFloods, outside a flood a request is served however late it starts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			s := &sleeper{d: 100 * time.Millisecond}
			h := httpx.Offload(p, httpx.Options{ShedOnlyFloods: true, MaxWait: 10 * time.Millisecond})(s)
			var wg sync.WaitGroup
			var first, second *httptest.ResponseRecorder
			wg.Go(func() { first = call(bg, h, "/first") })
			synctest.Wait()
			wg.Go(func() { second = call(bg, h, "/second") }) // waits ten budgets
			wg.Wait()
			require.Equal(t, http.StatusOK, first.Code)
			require.Equal(t, http.StatusOK, second.Code)
			require.Equal(t, []string{"/first", "/second"}, s.ran())
			require.Zero(t, p.Stats().Canceled)
		})
	})

	t.Run("with ShedOnlyFloods, a closed population whose queue outlasts the budget is served in full", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			s := &sleeper{d: 10 * time.Millisecond}
			h := httpx.Offload(p, httpx.Options{ShedOnlyFloods: true, MaxWait: 50 * time.Millisecond})(s)
			// 15 clients, each sending its next request as soon as it has
			// an answer, all starting at once: every request waits about
			// 140ms, almost three budgets, but the queue never grows past
			// the clients.
			var wg sync.WaitGroup
			var slowest atomic.Int64
			for range 15 {
				wg.Go(func() {
					for range 10 {
						start := time.Now()
						require.Equal(t, http.StatusOK, call(bg, h, "/").Code)
						storeMax(&slowest, time.Since(start))
					}
				})
			}
			wg.Wait()
			require.Len(t, s.ran(), 150)
			require.Greater(t, time.Duration(slowest.Load()), 2*50*time.Millisecond, "requests waited past two budgets")
			st := p.Stats()
			require.Zero(t, st.Canceled, "nothing was shed")
			require.Zero(t, st.Rejected)
		})
	})

	t.Run("with ShedOnlyFloods, an open-loop flood is shed once its queue keeps growing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const run, maxWait = 4 * time.Millisecond, 40 * time.Millisecond
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 1000})
			s := &sleeper{d: run}
			h := httpx.Offload(p, httpx.Options{ShedOnlyFloods: true, MaxWait: maxWait})(s)
			// One request every millisecond for a second: four times what
			// the worker can serve.
			var wg sync.WaitGroup
			var ok, busy, slowest atomic.Int64
			for range 1000 {
				wg.Go(func() {
					start := time.Now()
					switch call(bg, h, "/").Code {
					case http.StatusOK:
						ok.Add(1)
						storeMax(&slowest, time.Since(start))
					case http.StatusServiceUnavailable:
						busy.Add(1)
					}
				})
				time.Sleep(time.Millisecond)
			}
			wg.Wait()
			require.Equal(t, int64(1000), ok.Load()+busy.Load())
			require.GreaterOrEqual(t, ok.Load(), int64(240), "the worker stayed busy: about one request per run")
			require.LessOrEqual(t, time.Duration(slowest.Load()), maxWait+run, "no success waited past the budget")
			st := p.Stats()
			require.Positive(t, st.Canceled, "queued requests were shed as they started")
			require.Positive(t, st.Rejected, "hopeless arrivals were rejected at once")
			require.Equal(t, uint64(busy.Load()), st.Canceled+st.Rejected)
			var js httpx.Stats
			require.NoError(t, json.Unmarshal(call(bg, httpx.StatsHandler(p), "/").Body.Bytes(), &js))
			require.Equal(t, st.Rejected, js.Rejected, "the stats JSON counts the arrival rejections")

			// The flood is over once the queue has drained: a closed
			// population is served in full again.
			time.Sleep(time.Second)
			before := p.Stats().Canceled
			for range 15 {
				wg.Go(func() {
					for range 5 {
						require.Equal(t, http.StatusOK, call(bg, h, "/").Code)
					}
				})
			}
			wg.Wait()
			require.Equal(t, before, p.Stats().Canceled)
		})
	})

	t.Run("with ShedOnlyFloods, a flood whose senders cap their requests in flight stays a flood", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const run, maxWait = 4 * time.Millisecond, 40 * time.Millisecond
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 1000})
			h := httpx.Offload(p, httpx.Options{ShedOnlyFloods: true, MaxWait: maxWait})(&sleeper{d: run})
			// A request every millisecond for two seconds, as a load
			// generator with 30 clients offers them: when all 30 wait for
			// answers, the next request waits for one of them. Once the
			// 30 are in the queue, it no longer grows.
			slots := make(chan struct{}, 30)
			var wg sync.WaitGroup
			var ok, slowest atomic.Int64
			for range 2000 {
				slots <- struct{}{}
				wg.Go(func() {
					defer func() { <-slots }()
					start := time.Now()
					if call(bg, h, "/").Code == http.StatusOK {
						ok.Add(1)
						storeMax(&slowest, time.Since(start))
					}
				})
				time.Sleep(time.Millisecond)
			}
			wg.Wait()
			require.GreaterOrEqual(t, ok.Load(), int64(450), "the worker stayed busy")
			require.LessOrEqual(t, time.Duration(slowest.Load()), maxWait+run, "no success waited past the budget")
		})
	})

	t.Run("a negative budget leaves only the queue's bound", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 100})
			s := &sleeper{d: time.Second}
			h := httpx.Offload(p, httpx.Options{MaxWait: -1})(s)
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() { require.Equal(t, http.StatusOK, call(bg, h, "/").Code) })
			}
			wg.Wait()
			require.Len(t, s.ran(), 3)
		})
	})

	t.Run("a client that leaves while queued frees its place at once", func(t *testing.T) {
		p := newTasks(t, pool.Options{MaxWorkers: 1, QueueSize: 1})
		g := newGate()
		var once sync.Once
		release := func() { once.Do(func() { close(g.open) }) }
		t.Cleanup(release) // before the pool closes, also when the test fails
		h := httpx.Offload(p, httpx.Options{})(g)
		var wg sync.WaitGroup
		wg.Go(func() { call(bg, h, "/busy") })
		<-g.entered
		ctx, cancel := context.WithCancel(bg)
		left := make(chan *httptest.ResponseRecorder, 1)
		wg.Go(func() { left <- call(ctx, h, "/gone") })
		for p.Stats().Queued != 1 {
			runtime.Gosched()
		}
		require.Equal(t, http.StatusServiceUnavailable, call(bg, h, "/full").Code)
		cancel()
		rec := <-left
		require.False(t, rec.Flushed)
		for p.Stats().Queued != 0 { // the pool's ctx callback runs on its own goroutine
			runtime.Gosched()
		}
		next := make(chan int, 1)
		wg.Go(func() { next <- call(bg, h, "/next").Code })
		for p.Stats().Queued != 1 {
			runtime.Gosched()
		}
		release()
		require.Equal(t, http.StatusOK, <-next)
		wg.Wait()
		require.Equal(t, uint64(2), p.Stats().Completed, "the gone request never ran")
	})
}

// counter is a stateful worker: it numbers the requests it handled.
type counter struct{ n int }

func (c *counter) Handle(_ context.Context, name string) (string, error) {
	c.n++
	return strings.Repeat("!", c.n) + name, nil
}

func TestHandleServesATypedPool(t *testing.T) {
	p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[string, string], error) {
		return &counter{}, nil
	}, pool.Options{MaxWorkers: 1, QueueSize: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(bg)) })
	decode := func(r *http.Request) (string, error) {
		name := r.URL.Query().Get("name")
		switch {
		case name == "":
			return "", errors.New("name is required")
		case len(name) > 8:
			return "", &httpx.StatusError{Status: http.StatusRequestEntityTooLarge, Err: errors.New("name too long")}
		}
		return name, nil
	}
	encode := func(w http.ResponseWriter, _ *http.Request, out string) { _, _ = w.Write([]byte(out)) }
	h := httpx.Handle(p, decode, encode, httpx.Options{})

	rec := call(bg, h, "/?name=ann")
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "!ann", rec.Body.String())
	require.Equal(t, "!!bob", call(bg, h, "/?name=bob").Body.String(), "the worker kept its state")
	require.Equal(t, http.StatusBadRequest, call(bg, h, "/").Code)
	require.Equal(t, http.StatusRequestEntityTooLarge, call(bg, h, "/?name=much-too-long").Code)

	stats := httptest.NewRecorder()
	httpx.StatsHandler(p).ServeHTTP(stats, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Contains(t, stats.Body.String(), `"completed":2`)
	ready := httptest.NewRecorder()
	httpx.ReadyHandler(p, httpx.ReadyOptions{}).ServeHTTP(ready, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusOK, ready.Code)
}

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the handler, not the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkReject compares the cost of one rejection by Offload with chi's
// Throttle, each saturated by a request that holds its only slot: crew
// rejecting by its waiting budget in a flood (the default path under an
// open-loop flood), by a full queue with the budget on and off, and by a
// queue that tasks submitted around the Offloader filled.
func BenchmarkReject(b *testing.B) {
	// saturate returns a handler that holds its callers until the
	// benchmark ends, a channel told of each holder, and a function that
	// serves one request through a handler in the background. Its cleanup,
	// registered after the pool's, runs before the pool closes.
	saturate := func(b *testing.B) (http.Handler, <-chan struct{}, func(http.Handler)) {
		hold, entered := make(chan struct{}), make(chan struct{}, 8)
		var wg sync.WaitGroup
		b.Cleanup(func() { close(hold); wg.Wait() })
		busy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/warm" {
				time.Sleep(5 * time.Millisecond) // the run time the pool learns
				return
			}
			entered <- struct{}{}
			<-hold
		})
		background := func(h http.Handler) {
			wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) })
		}
		return busy, entered, background
	}
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		w := &discard{h: http.Header{}}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		b.ResetTimer()
		for range b.N {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	}
	// The testing package calls each sub-benchmark's function several
	// times, growing b.N: saturate once, in the parent.
	throttle := func() http.Handler {
		busy, entered, background := saturate(b)
		h := middleware.ThrottleWithOpts(middleware.ThrottleOpts{Limit: 1, BacklogLimit: 0})(busy)
		background(h)
		<-entered
		return h
	}
	// crew saturates a pool of one worker: one request runs, one waits in
	// the queue, and, when others is set, the rest of the queue holds
	// tasks submitted around the Offloader.
	crew := func(maxWait time.Duration, queue int, flood, others bool) http.Handler {
		p := newTasks(b, pool.Options{MaxWorkers: 1, QueueSize: queue})
		busy, entered, background := saturate(b)
		o, err := httpx.New(p, httpx.Options{MaxWait: maxWait})
		require.NoError(b, err)
		h := o.Handler(busy)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/warm", nil)) // times one run
		background(h)
		<-entered
		background(h)
		for p.Stats().Queued != 1 {
			runtime.Gosched()
		}
		for others && p.Stats().Queued < queue {
			_, err := p.TrySubmit(bg, func(context.Context) error { return nil })
			require.NoError(b, err)
		}
		if flood {
			httpx.Flood(o)
		}
		return h
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"chi-throttle", throttle()},
		{"crew-budget-in-flood", crew(time.Millisecond, 2, true, false)},
		{"crew-queue-full", crew(0, 1, false, false)},
		{"crew-queue-full-budget-off", crew(-1, 1, false, false)},
		{"crew-queue-full-of-others", crew(-1, 2, false, true)},
	} {
		b.Run(c.name, func(b *testing.B) { run(b, c.h) })
	}
}
