package httpx

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// DefaultDashboardInterval is how often the dashboard page polls for stats
// when DashboardOptions.Interval is zero.
const DefaultDashboardInterval = time.Second

// minDashboardInterval is the shortest DashboardOptions.Interval accepted:
// polling faster loads the server more than it tells the reader.
const minDashboardInterval = 100 * time.Millisecond

// dashboardJSON is the query that asks DashboardHandler for stats instead
// of the page; the page polls it when DashboardOptions.StatsURL is empty.
const dashboardJSON = "?format=json"

//go:embed dashboard.html
var dashboardSource string

// DashboardOptions configures DashboardHandler. The zero value makes a page
// that polls the dashboard's own URL for stats once a second.
type DashboardOptions struct {
	// StatsURL is where the page fetches the pool's stats, in the JSON that
	// StatsHandler serves; for example "/debug/pool" when StatsHandler is
	// mounted there. A relative URL is resolved against the page's URL. It
	// must be on the page's origin: the page's Content-Security-Policy
	// allows no other. Empty means the dashboard's own URL with the query
	// "?format=json", which DashboardHandler answers with the stats itself,
	// so mounting the dashboard alone is enough.
	StatsURL string

	// Interval is how often the page polls StatsURL. Zero means
	// DefaultDashboardInterval (one second); otherwise it must be at least
	// 100ms.
	Interval time.Duration
}

// dashboard serves the rendered page, and the stats at its own URL.
type dashboard struct {
	page  []byte
	csp   string
	stats http.Handler
}

// DashboardHandler returns a handler that serves a live dashboard of p, in
// the manner of pm2 monit: a single self-contained HTML page, with no
// external assets, whose script polls the pool's stats and shows busy, idle
// and hung workers, queue fill, completed tasks per second, run and wait
// time percentiles, failure counters and the pool's state, with sparklines
// of throughput and queue length over the last minute.
//
// A request whose query has format=json is answered with the stats, as
// StatsHandler answers it; every other request gets the page. The page is
// rendered once, here, so serving it costs a write of a few kilobytes; the
// pool's name is HTML-escaped. The handler is safe for concurrent use. It
// panics with an "httpx:" message for a nil pool or invalid options.
func DashboardHandler(p Pool, opts DashboardOptions) http.Handler {
	mustPool(p, "DashboardHandler")
	opts = opts.withDefaults()
	var page bytes.Buffer
	tmpl := template.Must(template.New("dashboard").Parse(dashboardSource))
	err := tmpl.Execute(&page, struct {
		Name, StatsURL string
		Interval       int64
	}{p.Stats().Name, opts.StatsURL, opts.Interval.Milliseconds()})
	if err != nil {
		panic("httpx: rendering the dashboard: " + err.Error())
	}
	return &dashboard{page: page.Bytes(), csp: dashboardPolicy(page.Bytes()), stats: StatsHandler(p)}
}

// withDefaults validates o and fills in its zero fields.
func (o DashboardOptions) withDefaults() DashboardOptions {
	if o.Interval == 0 {
		o.Interval = DefaultDashboardInterval
	}
	if o.Interval < minDashboardInterval {
		panic(fmt.Sprintf("httpx: DashboardOptions.Interval must be 0 or >= %v, got %v", minDashboardInterval, o.Interval))
	}
	if o.StatsURL == "" {
		o.StatsURL = dashboardJSON
	}
	if _, err := url.Parse(o.StatsURL); err != nil {
		panic(fmt.Sprintf("httpx: DashboardOptions.StatsURL: %v", err))
	}
	return o
}

// dashboardPolicy returns the page's Content-Security-Policy: only its own
// inline script, found by hash, may run, and it may fetch only from the
// page's origin. A pool name that escaped its escaping still could not run.
func dashboardPolicy(page []byte) string {
	_, script, _ := bytes.Cut(page, []byte("<script>"))
	script, _, _ = bytes.Cut(script, []byte("</script>"))
	sum := sha256.Sum256(script)
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
}

// ServeHTTP serves the stats for format=json, and the page otherwise.
func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") == "json" {
		d.stats.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", d.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(d.page)
}
