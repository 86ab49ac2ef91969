package manager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
)

// ChildStatus describes one instance and the child that holds it.
type ChildStatus struct {
	Instance int       `json:"instance"`
	State    string    `json:"state"`           // StateRunning, StateRestarting, StateFailed or StateStopped
	PID      int       `json:"pid,omitempty"`   // zero unless running
	Started  time.Time `json:"started"`         // when the current child started
	Uptime   Duration  `json:"uptime_s"`        // since Started, in seconds
	Restarts int       `json:"restarts"`        // crashes recovered, since Start
	RSS      int64     `json:"rss_bytes"`       // resident memory; zero where /proc is missing
	LastExit string    `json:"last_exit"`       // how the last crashed child exited
	Error    string    `json:"error,omitempty"` // why the manager gave up
	// Report is the child's latest answer to a heartbeat: its readiness,
	// pool and memory. Nil for a child without a channel, and before its
	// first answer.
	Report *ipc.Report `json:"report,omitempty"`
	// HeartbeatAge is the time since that answer.
	HeartbeatAge Duration `json:"heartbeat_age_s,omitempty"`
}

// Duration is a time.Duration that marshals to JSON as a string like "1m3s".
type Duration time.Duration

// MarshalJSON encodes d as seconds, to the millisecond, the way the field
// names say (`uptime_s`), as the example server's stats give durations
// with their unit in the name.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).Seconds())
}

// Status returns the state of every instance, in instance order. It reads
// each child's resident memory from /proc, so it costs a few system calls
// per child. It returns nil after a failed Start.
func (m *Manager) Status() []ChildStatus {
	out := make([]ChildStatus, 0, len(m.instances))
	for _, in := range m.instances {
		out = append(out, in.status())
	}
	return out
}

func (in *instance) status() ChildStatus {
	in.mu.Lock()
	s := ChildStatus{Instance: in.id, State: in.state, Restarts: in.restarts, LastExit: in.lastExit}
	if in.fail != nil {
		s.Error = in.fail.Error()
	}
	c := in.cur
	in.mu.Unlock()
	if c != nil {
		s.PID, s.Started, s.Uptime = c.pid, c.started, Duration(time.Since(c.started))
		s.RSS = RSS(c.pid)
		if hb, _ := c.conn.Last(); hb.Seq > 0 {
			s.Report, s.HeartbeatAge = &hb.Report, Duration(time.Since(hb.At))
		}
	}
	return s
}

// RSS returns the resident set size of process pid in bytes, read from
// /proc/pid/status, or zero if it cannot be read.
func RSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// WriteStatus writes st as an aligned text table, one child a line, like
// pm2's monit across processes: its state, restarts, readiness, pool
// (workers, busy, queued, completed and rejected tasks) and memory
// (resident and Go heap), with the totals at the end. A child without a
// channel shows "-" for what only its heartbeats tell.
func WriteStatus(w io.Writer, st []ChildStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance\tstate\tpid\tuptime\trestarts\tready\tworkers\tbusy\tqueued\tdone\trejected\tmemory\theap\tlast exit\t")
	var sum totals
	for _, s := range st {
		pid, uptime := "-", "-"
		if s.PID != 0 {
			pid, uptime = strconv.Itoa(s.PID), time.Duration(s.Uptime).Round(time.Second).String()
		}
		last := s.LastExit
		if s.Error != "" {
			last = s.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", s.Instance, s.State, pid, uptime, s.Restarts,
			strings.Join(sum.add(s), "\t"), MiB(s.RSS), heap(s.Report), or(last, "-"))
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\t\n",
		sum.workers, sum.busy, sum.queued, sum.done, sum.rejected, MiB(sum.rss), MiB(sum.heap))
	return tw.Flush()
}

// totals sums the children's figures for WriteStatus's last line.
type totals struct {
	workers, busy, queued int
	done, rejected        uint64
	rss, heap             int64
}

// add counts s and returns its ready, workers, busy, queued, done and
// rejected columns.
func (t *totals) add(s ChildStatus) []string {
	t.rss += s.RSS
	cols := []string{"-", "-", "-", "-", "-", "-"}
	r := s.Report
	if r == nil {
		return cols
	}
	t.heap += r.Heap
	cols[0] = "no"
	if r.Ready {
		cols[0] = "yes"
	}
	if p := r.Pool; p != nil {
		t.workers, t.busy, t.queued = t.workers+p.Workers, t.busy+p.Busy, t.queued+p.Queued
		t.done, t.rejected = t.done+p.Completed, t.rejected+p.Rejected
		cols[1], cols[2], cols[3] = strconv.Itoa(p.Workers), strconv.Itoa(p.Busy), strconv.Itoa(p.Queued)
		cols[4], cols[5] = strconv.FormatUint(p.Completed, 10), strconv.FormatUint(p.Rejected, 10)
	}
	return cols
}

func heap(r *ipc.Report) string {
	if r == nil {
		return "-"
	}
	return MiB(r.Heap)
}

// MiB formats a byte count in mebibytes, such as "12.3 MiB".
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// StatusHandler serves the status of m's children at "/": a text table,
// or JSON when the query has format=json. POST /log-level with a level
// (level=debug, in the query or a form body) sends it to every child with
// a channel (ipc.LogLevel), and answers how many it reached. Any other
// path is 404 Not Found.
func (m *Manager) StatusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		st := m.Status()
		if r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(st)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = WriteStatus(w, st)
	})
	mux.HandleFunc("POST /log-level", m.setLogLevel)
	return mux
}

// setLogLevel broadcasts the level in the request to every child.
func (m *Manager) setLogLevel(w http.ResponseWriter, r *http.Request) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(r.FormValue("level"))); err != nil {
		http.Error(w, "level must be debug, info, warn or error: "+err.Error(), http.StatusBadRequest)
		return
	}
	n, err := m.Broadcast(r.Context(), ipc.LogLevel(l))
	if err != nil {
		http.Error(w, fmt.Sprintf("log level %s sent to %d children; %v", l, n, err), http.StatusBadGateway)
		return
	}
	fmt.Fprintf(w, "log level %s sent to %d children\n", l, n)
}
