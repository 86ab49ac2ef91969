package httpx

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"

	"github.com/crewkit/crew/pool"
)

// DefaultReadyThreshold is the queue fill above which ReadyHandler reports
// not ready when ReadyOptions.Threshold is zero.
const DefaultReadyThreshold = 0.75

// StatsHandler returns a handler that serves p.Stats() and the process's
// runtime figures as JSON: a [Stats], in snake_case with durations in
// milliseconds. It panics if p is nil.
func StatsHandler(p Pool) http.Handler {
	mustPool(p, "StatsHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, StatsOf(p.Stats(), ReadRuntime()))
	})
}

// ReadyOptions configures ReadyHandler. The zero value reports not ready
// once more than three quarters of the queue is in use.
type ReadyOptions struct {
	// Threshold is the fraction of the pool's queue capacity above which
	// the pool counts as saturated. Zero means DefaultReadyThreshold (0.75);
	// otherwise it must be in (0, 1]. At 1, not ready means the queue is
	// full and requests are already being rejected.
	Threshold float64
}

// Readiness is the JSON body of ReadyHandler's responses.
type Readiness struct {
	Ready    bool   `json:"ready"`     // whether the pool takes more work
	State    string `json:"state"`     // the pool's Stats.State
	Queued   int    `json:"queued"`    // tasks waiting
	QueueCap int    `json:"queue_cap"` // the queue's bound, or pool.Unbounded
	Busy     int    `json:"busy"`      // workers not waiting for a task
	Workers  int    `json:"workers"`   // live workers
}

// ReadyHandler returns a readiness handler for a load balancer: 200 while
// the pool is open and its queue holds at most Threshold of its capacity
// (of DefaultQueueSize for an Unbounded queue),
// 503 when the queue is fuller (saturated, so that traffic goes elsewhere
// before requests are rejected) or the pool is closing or failed. The body
// is a Readiness. It panics with an "httpx:" message for a nil pool or an
// invalid Threshold.
func ReadyHandler(p Pool, opts ReadyOptions) http.Handler {
	mustPool(p, "ReadyHandler")
	t := opts.Threshold
	if t == 0 {
		t = DefaultReadyThreshold
	}
	if t <= 0 || t > 1 || math.IsNaN(t) {
		panic(fmt.Sprintf("httpx: ReadyOptions.Threshold must be in (0, 1], got %v", opts.Threshold))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		st := p.Stats()
		rd := Readiness{State: st.State, Queued: st.Queued, QueueCap: st.QueueCap, Busy: st.Busy, Workers: st.Workers}
		bound := readyBound(st.QueueCap)
		rd.Ready = st.State == "open" && st.Queued < bound && float64(st.Queued) <= t*float64(bound)
		code := http.StatusOK
		if !rd.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rd)
	})
}

// readyBound is the queue length that Threshold is a fraction of: the bound,
// or for an Unbounded queue the buffer it keeps before overflowing.
func readyBound(queueCap int) int {
	if queueCap == pool.Unbounded {
		return pool.DefaultQueueSize
	}
	return queueCap
}

// LiveHandler returns a liveness handler: 200 "ok" while the pool can still
// run work, and 503 once it has failed for good (its restart policy gave
// up), when restarting the process is the remedy. Saturation and shutdown do
// not make it fail. It panics if p is nil.
func LiveHandler(p Pool) http.Handler {
	mustPool(p, "LiveHandler")
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if p.Stats().State == "failed" {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "pool failed")
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

func mustPool(p Pool, fn string) {
	if v := reflect.ValueOf(p); p == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		panic("httpx: " + fn + " needs a non-nil pool")
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
