package prom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A Collector exports a pool's stats; serve it with promhttp on /metrics.
func ExampleNewCollector() {
	p, err := pool.NewTasks(pool.Options{Name: "cpu", MaxWorkers: 2, QueueSize: 64})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())
	for range 3 {
		_ = p.Run(context.Background(), func(context.Context) error { return nil })
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(p, prom.Options{}))
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})

	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "crew_pool_tasks_total") || strings.HasPrefix(line, "crew_pool_queue_capacity") ||
			strings.HasPrefix(line, "crew_pool_task_run_seconds_count") {
			fmt.Print(line)
		}
	}
	// Output:
	// crew_pool_queue_capacity{pool="cpu"} 64
	// crew_pool_task_run_seconds_count{pool="cpu"} 3
	// crew_pool_tasks_total{outcome="canceled",pool="cpu"} 0
	// crew_pool_tasks_total{outcome="completed",pool="cpu"} 3
	// crew_pool_tasks_total{outcome="failed",pool="cpu"} 0
	// crew_pool_tasks_total{outcome="panicked",pool="cpu"} 0
	// crew_pool_tasks_total{outcome="rejected",pool="cpu"} 0
	// crew_pool_tasks_total{outcome="timed_out",pool="cpu"} 0
}
