package loadgen

import (
	"slices"
	"time"
)

// Result counts what the clients of one Run got.
type Result struct {
	Sent      int // requests sent
	OK        int // answered 2xx
	Rejected  int // answered 503 or 429
	Other     int // answered another status
	Errors    int // no answer (connection or timeout), not abandoned
	Abandoned int // cancelled by their client before the answer came

	// Latencies of the 2xx answers, from sending the request to reading
	// the whole body, in increasing order.
	Latencies []time.Duration
	// Elapsed is the time from the start of the run to the last answer.
	Elapsed time.Duration
}

// Answers returns the requests that got a response, whatever its status.
func (r Result) Answers() int { return r.OK + r.Rejected + r.Other }

// Goodput returns the 2xx answers per second of Elapsed.
func (r Result) Goodput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Quantile returns the q-quantile (0 to 1) of the 2xx latencies, zero when
// there was none.
func (r Result) Quantile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := min(max(int(q*float64(n)+0.5)-1, 0), n-1)
	return r.Latencies[i]
}

// add merges o into r; the latencies are sorted by Run at the end.
func (r *Result) add(o *Result) {
	r.Sent += o.Sent
	r.OK += o.OK
	r.Rejected += o.Rejected
	r.Other += o.Other
	r.Errors += o.Errors
	r.Abandoned += o.Abandoned
	r.Latencies = append(r.Latencies, o.Latencies...)
}

func (r *Result) finish(elapsed time.Duration) {
	slices.Sort(r.Latencies)
	r.Elapsed = elapsed
}
