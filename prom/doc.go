// Package prom exports a crew pool's stats as Prometheus metrics, in a
// module of its own so that the core module does not depend on
// client_golang.
//
// # Usage
//
// Register one [Collector] per pool and serve the registry:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(prom.NewCollector(p, prom.Options{}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Metrics
//
// Every metric has the label pool (the pool's Options.Name); the
// namespace is "crew" unless Options.Namespace says otherwise.
//
//	crew_pool_workers{state="busy|idle|hung"}     gauge
//	crew_pool_workers_max, crew_pool_workers_min  gauge
//	crew_pool_queue_length                        gauge
//	crew_pool_queue_capacity                      gauge, absent for an unbounded queue
//	crew_pool_tasks_total{outcome="completed|failed|panicked|rejected|canceled|timed_out"}  counter
//	crew_pool_restarts_total                      counter
//	crew_pool_workers_recycled_total              counter
//	crew_pool_workers_hung_total                  counter
//	crew_pool_state{state="open|closing|closed|failed"}  gauge, 1 for the current state
//	crew_pool_utilization_ratio                   gauge, since the pool started
//	crew_pool_task_run_seconds                    histogram, fixed buckets 10µs to 1m
//	crew_pool_task_wait_seconds                   histogram, fixed buckets 10µs to 1m
//
// # Latency is sampled
//
// A pool times every task until it has timed 256, then one task in 32,
// because reading the clock costs more than a tiny task. The run and wait
// histograms are built from those samples: their _count is the number of
// timed tasks (compare crew_pool_tasks_total for the tasks run), their
// _sum is exact, and their buckets are fixed bounds from 10µs to 1m
// (pool.LatencyBounds), the same at every scrape, so histogram_quantile
// works over any window and across instances; a sample within 12.5% of a
// bound may count in the bucket next to it.
package prom
