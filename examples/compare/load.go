package main

import (
	"fmt"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// point is one setup under one offered load.
type point struct {
	setup    string
	offered  int     // requests per second offered
	goodput  float64 // successful responses per second
	requests uint64
	p50, p99 time.Duration // of successful responses
	rejected int           // 503: refused by the pool's bounded queue
	rejRate  float64       // rejected per second
	failed   int           // errors and other statuses
	rss      int64         // peak total resident memory of the setup
}

// digest is the CPU-heavy request every load is made of.
func digest(addr string, rounds int) vegeta.Target {
	return vegeta.Target{Method: http.MethodGet,
		URL: fmt.Sprintf("http://%s/api/digest?rounds=%d&seed=compare", addr, rounds)}
}

// attack offers rate requests per second (0: as fast as clients clients
// go, each waiting for its answer) to t for d, and passes each result to add.
// It does nothing when d is not positive.
func attack(clients, rate int, t vegeta.Target, d time.Duration, add func(*vegeta.Result)) {
	if d <= 0 {
		return // vegeta would attack forever
	}
	a := vegeta.NewAttacker(
		vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)),
		vegeta.Connections(clients), vegeta.MaxConnections(clients),
		vegeta.Timeout(10*time.Second), vegeta.KeepAlive(true),
	)
	for res := range a.Attack(vegeta.NewStaticTargeter(t), vegeta.Rate{Freq: rate, Per: time.Second}, d, "compare") {
		add(res)
	}
}

// capacity measures the successful responses per second of r when cfg.clients
// clients send requests back to back.
func capacity(cfg config, r *running) float64 {
	t := digest(r.m.Addr(), cfg.rounds)
	attack(cfg.clients, 0, t, cfg.warmup, func(*vegeta.Result) {})
	var m vegeta.Metrics
	attack(cfg.clients, 0, t, cfg.capFor, m.Add)
	m.Close()
	return m.Throughput
}

// measure offers rate requests per second to r after a warm-up.
func measure(cfg config, r *running, rate int) point {
	t := digest(r.m.Addr(), cfg.rounds)
	attack(cfg.clients, rate, t, cfg.warmup, func(*vegeta.Result) {})
	p := point{setup: r.name, offered: rate}
	var all vegeta.Metrics
	var ok vegeta.LatencyMetrics
	peak := r.peakRSS()
	attack(cfg.clients, rate, t, cfg.duration, func(res *vegeta.Result) {
		all.Add(res)
		switch res.Code {
		case http.StatusOK:
			ok.Add(res.Latency)
		case http.StatusServiceUnavailable:
			p.rejected++
		default:
			p.failed++
		}
	})
	p.rss = peak()
	all.Close()
	p.goodput, p.requests = all.Throughput, all.Requests
	p.rejRate = perSecond(p.rejected, all.Duration+all.Wait)
	p.p50, p.p99 = ok.Quantile(0.5), ok.Quantile(0.99)
	return p
}
