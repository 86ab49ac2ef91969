package httpx

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of DashboardOptions.
const (
	// DefaultDashboardInterval is how often the dashboard samples the pool
	// and the page polls for stats when DashboardOptions.Interval is zero.
	DefaultDashboardInterval = time.Second
	// DefaultDashboardWindow is the recent window of DashboardOptions.Window.
	DefaultDashboardWindow = time.Minute
	// DefaultDashboardHistory is how long samples are kept when
	// DashboardOptions.History is zero.
	DefaultDashboardHistory = 5 * time.Minute
)

// minDashboardInterval is the shortest DashboardOptions.Interval accepted:
// polling faster loads the server more than it tells the reader.
const minDashboardInterval = 100 * time.Millisecond

// maxDashboardSamples bounds the samples kept: History / Interval.
const maxDashboardSamples = 3600

//go:embed dashboard.html
var dashboardSource string

// DashboardOptions configures DashboardHandler. The zero value samples the
// pool once a second, keeps five minutes of samples and shows latency and
// throughput over the last minute.
type DashboardOptions struct {
	// Interval is how often the dashboard samples the pool's stats, and
	// how often the page polls them. Zero means DefaultDashboardInterval
	// (one second); otherwise it must be at least 100ms.
	Interval time.Duration

	// Window is the recent window over which the page shows throughput and
	// mean latency beside the figures since start. Zero means
	// DefaultDashboardWindow (one minute); otherwise it must be at least
	// two Intervals and at most History.
	Window time.Duration

	// History is how long samples are kept, so that a page opened now
	// shows the last minutes in its charts. Zero means
	// DefaultDashboardHistory (five minutes); otherwise it must be at least
	// Window and hold at most 3600 samples (History / Interval).
	History time.Duration
}

// withDefaults validates o and fills in its zero fields.
func (o DashboardOptions) withDefaults() DashboardOptions {
	if o.Interval == 0 {
		o.Interval = DefaultDashboardInterval
	}
	if o.Interval < minDashboardInterval {
		panic(fmt.Sprintf("httpx: DashboardOptions.Interval must be 0 or >= %v, got %v", minDashboardInterval, o.Interval))
	}
	if o.Window == 0 {
		o.Window = max(DefaultDashboardWindow, 2*o.Interval)
	}
	if o.History == 0 {
		o.History = max(DefaultDashboardHistory, o.Window)
	}
	if o.Window < 2*o.Interval || o.Window > o.History {
		panic(fmt.Sprintf("httpx: DashboardOptions.Window must be 0 or in [2 Intervals, History] = [%v, %v], got %v",
			2*o.Interval, o.History, o.Window))
	}
	if n := o.History / o.Interval; n > maxDashboardSamples {
		panic(fmt.Sprintf("httpx: DashboardOptions.History must hold at most %d samples of Interval %v, got %v (%d samples)",
			maxDashboardSamples, o.Interval, o.History, n))
	}
	return o
}

// Dashboard is a live page of one pool's stats, served by ServeHTTP. It
// samples the pool every Interval from its first request (or from Start)
// until Close, keeping History's worth of samples. It is safe for
// concurrent use.
type Dashboard struct {
	p    Pool
	opts DashboardOptions
	page []byte
	csp  string

	mu      sync.Mutex
	hist    history
	started bool
	closed  bool
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when the sampler has returned
}

// DashboardHandler returns a live dashboard of p, in the manner of pm2
// monit: one self-contained HTML page, with no external assets, whose
// script polls the dashboard's own URL and shows busy, idle and hung
// workers, queue fill, throughput, run and wait latency since start and
// over the last Window, outcome counters, the process's goroutines, heap
// and GC, and charts of the last History with a time axis and a scale.
//
// A request whose query has format=json is answered with that data (see
// docs/httpx.md); every other request gets the page. The page is rendered
// once, here; the pool's name is HTML-escaped.
//
// The dashboard samples p every Interval in a goroutine started by its
// first request or by Start; call Close to stop it. It panics with an
// "httpx:" message for a nil pool or invalid options.
func DashboardHandler(p Pool, opts DashboardOptions) *Dashboard {
	mustPool(p, "DashboardHandler")
	opts = opts.withDefaults()
	var page bytes.Buffer
	tmpl := template.Must(template.New("dashboard").Parse(dashboardSource))
	err := tmpl.Execute(&page, struct {
		Name                      string
		Interval, Window, History int64
	}{p.Stats().Name, opts.Interval.Milliseconds(), opts.Window.Milliseconds(), opts.History.Milliseconds()})
	if err != nil {
		panic("httpx: rendering the dashboard: " + err.Error())
	}
	return &Dashboard{
		p: p, opts: opts, page: page.Bytes(), csp: dashboardPolicy(page.Bytes()),
		hist: newHistory(int(opts.History / opts.Interval)),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// Start starts sampling the pool now, if the dashboard is not sampling
// already, so that the page has history from the server's start. It does
// not block. After Close it does nothing.
func (d *Dashboard) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started || d.closed {
		return
	}
	d.started = true
	d.hist.add(d.sample())
	go d.run()
}

// Close stops sampling and waits for the sampler to return. The dashboard
// goes on serving the samples it has. Close is idempotent.
func (d *Dashboard) Close() {
	d.mu.Lock()
	started := d.started
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()
	if started {
		<-d.done
	}
}

// run samples the pool every Interval until Close.
func (d *Dashboard) run() {
	defer close(d.done)
	tick := time.NewTicker(d.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tick.C:
			s := d.sample()
			d.mu.Lock()
			d.hist.add(s)
			d.mu.Unlock()
		}
	}
}

// sample reads the pool and the runtime now.
func (d *Dashboard) sample() sample {
	return sample{at: time.Now(), st: d.p.Stats(), rt: ReadRuntime()}
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

// ServeHTTP serves the dashboard's data for format=json, and the page
// otherwise. With format=json, since=T (Unix milliseconds) limits the
// history to samples taken after T.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.Start()
	q := r.URL.Query()
	if q.Get("format") == "json" {
		since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
		d.mu.Lock()
		body := d.hist.body(d.opts, since)
		d.mu.Unlock()
		body.Stats = StatsOf(d.p.Stats(), ReadRuntime())
		writeJSON(w, http.StatusOK, body)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", d.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(d.page)
}
