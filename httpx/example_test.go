package httpx_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
	"github.com/go-chi/chi/v5"
)

// Offload runs a chi route's handler on a pool worker.
func ExampleOffload() {
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 2, QueueSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	r := chi.NewRouter()
	r.With(httpx.Offload(p, httpx.Options{})).Get("/sum", func(w http.ResponseWriter, r *http.Request) {
		total := 0
		for i := range 1_000_001 { // the CPU-bound part
			total += i
		}
		fmt.Fprintln(w, total)
	})
	r.Handle("/debug/pool", httpx.StatsHandler(p))

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sum", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 500000500000
}

// ConnContext, set on the http.Server, lets Offload drop a queued request
// whose client has already closed its connection, even when the runtime,
// busy with CPU work, has not told net/http yet.
func ExampleConnContext() {
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 2, QueueSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	r := chi.NewRouter()
	r.With(httpx.Offload(p, httpx.Options{})).Get("/work", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "done")
	})
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ConnContext = httpx.ConnContext
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/work")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output: 200 done
}

// Compute runs only the CPU-bound part of a handler on the pool; reading
// the body and writing the response stay on the request goroutine.
func ExampleCompute() {
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 2, QueueSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())
	o, err := httpx.New(p, httpx.Options{})
	if err != nil {
		panic(err)
	}

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		text, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		words, err := httpx.Compute(r.Context(), p, func(context.Context) (int, error) {
			return len(strings.Fields(string(text))), nil
		})
		if err != nil {
			o.WriteError(w, r, err) // 503 when the queue is full, 500 for a panic
			return
		}
		fmt.Fprintf(w, "%d words\n", words)
	})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/count", strings.NewReader("one two three")))
	fmt.Print(rec.Body.String())
	// Output: 3 words
}

// ReadyHandler tells a load balancer to send traffic elsewhere while the
// pool's queue is more than half full.
func ExampleReadyHandler() {
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 2, QueueSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	r := chi.NewRouter()
	r.Handle("/readyz", httpx.ReadyHandler(p, httpx.ReadyOptions{Threshold: 0.5}))
	r.Handle("/healthz", httpx.LiveHandler(p))

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 200 {"ready":true,"state":"open","queued":0,"queue_cap":64,"busy":0,"workers":0}
}

// wordCounter is a stateful worker: each worker keeps its own running total,
// built once and used one request at a time, without locks.
type wordCounter struct{ total int }

func (c *wordCounter) Handle(_ context.Context, text string) (int, error) {
	c.total += len(strings.Fields(text))
	return c.total, nil
}

// Handle serves a route with a typed pool of stateful workers: the body is
// read on the request goroutine, only the work runs on the pool.
func ExampleHandle() {
	p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[string, int], error) {
		return &wordCounter{}, nil
	}, pool.Options{MaxWorkers: 1})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	decode := func(r *http.Request) (string, error) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		return string(b), err
	}
	encode := func(w http.ResponseWriter, _ *http.Request, total int) { fmt.Fprintln(w, total) }
	r := chi.NewRouter()
	r.Method(http.MethodPost, "/count", httpx.Handle(p, decode, encode, httpx.Options{}))

	for _, body := range []string{"one two three", "four five"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/count", strings.NewReader(body)))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 3
	// 200 5
}
