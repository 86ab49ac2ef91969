package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
)

// requestMetrics is a histogram of the public requests' durations, which
// /metrics serves beside the pool's sampled histograms: every request is
// observed, and histograms add up across instances.
type requestMetrics struct {
	hist *prometheus.HistogramVec
}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds",
		Help: "Time from a public request's headers to its handler's return, by route pattern, method and status, " +
			"rejections included; every request is observed.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})}
}

// knownMethods are the methods kept as label values; others count as
// "other", so that a client cannot make up label values.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// observe is middleware that observes each request once it is answered,
// labelled with chi's route pattern ("unmatched" for a 404).
func (m *requestMetrics) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		start := time.Now()
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		method := r.Method
		if !knownMethods[method] {
			method = "other"
		}
		code := ww.Status()
		if code == 0 {
			code = http.StatusOK // nothing written: net/http answers 200
		}
		m.hist.WithLabelValues(route, method, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
	})
}
