package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// row is one mode's results.
type row struct {
	mode     app.Mode
	all      vegeta.Metrics        // every response
	ok       vegeta.LatencyMetrics // successful responses only
	rejected int                   // 503 and 429
	failed   int                   // anything else that was not a success
}

// calibrate measures the capacity of the plain server: the successful
// responses per second of cfg.clients clients that each send a request as
// soon as the previous one is answered.
func calibrate(cfg config) (float64, error) {
	srv, err := startServer(cfg, app.ModePlain)
	if err != nil {
		return 0, err
	}
	closed := cfg
	closed.rate = 0 // vegeta: no pacing, cfg.clients workers in a closed loop
	var m vegeta.Metrics
	attack(closed, digestTarget(srv, cfg), cfg.warmup, func(*vegeta.Result) {})
	attack(closed, digestTarget(srv, cfg), 3*time.Second, m.Add)
	m.Close()
	return m.Throughput, srv.stop()
}

func digestTarget(srv *server, cfg config) vegeta.Target {
	return vegeta.Target{Method: http.MethodGet,
		URL: fmt.Sprintf("http://%s/api/digest?rounds=%d&seed=p6", srv.addr, cfg.rounds)}
}

// measure runs one mode: start its server, warm it up, attack it, stop it.
func measure(cfg config, mode app.Mode) (row, error) {
	srv, err := startServer(cfg, mode)
	if err != nil {
		return row{}, err
	}
	target := digestTarget(srv, cfg)
	if cfg.warmup > 0 {
		attack(cfg, target, cfg.warmup, func(*vegeta.Result) {})
	}
	r := row{mode: mode}
	attack(cfg, target, cfg.duration, func(res *vegeta.Result) {
		r.all.Add(res)
		switch {
		case res.Code == http.StatusOK:
			r.ok.Add(res.Latency)
		case res.Code == http.StatusServiceUnavailable || res.Code == http.StatusTooManyRequests:
			r.rejected++
		default:
			r.failed++
		}
	})
	r.all.Close()
	return r, srv.stop()
}

// attack offers cfg.rate requests per second (0: as fast as cfg.clients
// clients can go) for d and passes each result to add.
func attack(cfg config, t vegeta.Target, d time.Duration, add func(*vegeta.Result)) {
	a := vegeta.NewAttacker(
		vegeta.Workers(uint64(cfg.clients)), vegeta.MaxWorkers(uint64(cfg.clients)),
		vegeta.Connections(cfg.clients), vegeta.MaxConnections(cfg.clients),
		vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true),
	)
	rate := vegeta.Rate{Freq: cfg.rate, Per: time.Second}
	for res := range a.Attack(vegeta.NewStaticTargeter(t), rate, d, "p6") {
		add(res)
	}
}

// table formats the rows as Markdown, with ratios to the first row.
func table(cfg config, rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| server | requests | goodput (req/s) | p50 ok | p99 ok | rejected (503) | other errors | p99 / plain | goodput / plain |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	base := rows[0]
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %v | %v | %d | %d | %.2f | %.2f |\n",
			label(r.mode), r.all.Requests, r.all.Throughput, ms(r.ok.Quantile(0.5)), ms(r.ok.Quantile(0.99)),
			r.rejected, r.failed, ratio(r.ok.Quantile(0.99), base.ok.Quantile(0.99)), r.all.Throughput/base.all.Throughput)
	}
	fmt.Fprintf(&b, "\nCPU endpoint ≈ %v (%d SHA-256 rounds); offered %d req/s from up to %d clients for %v per server.\n",
		cfg.work, cfg.rounds, cfg.rate, cfg.clients, cfg.duration)
	return b.String()
}

func label(m app.Mode) string {
	switch m {
	case app.ModePlain:
		return "plain chi"
	case app.ModeThrottle:
		return "chi middleware.Throttle"
	case app.ModePool:
		return "httpx.Offload (crew pool)"
	}
	return string(m)
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
