package manager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ChildStatus describes one instance and the child that holds it.
type ChildStatus struct {
	Instance int       `json:"instance"`
	State    string    `json:"state"`           // StateRunning, StateRestarting, StateFailed or StateStopped
	PID      int       `json:"pid,omitempty"`   // zero unless running
	Started  time.Time `json:"started"`         // when the current child started
	Uptime   Duration  `json:"uptime"`          // since Started
	Restarts int       `json:"restarts"`        // crashes recovered, since Start
	RSS      int64     `json:"rss_bytes"`       // resident memory; zero where /proc is missing
	LastExit string    `json:"last_exit"`       // how the last crashed child exited
	Error    string    `json:"error,omitempty"` // why the manager gave up
}

// Duration is a time.Duration that marshals to JSON as a string like "1m3s".
type Duration time.Duration

// MarshalJSON encodes d as its String form.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).String())
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
// pm2 ls, with the total resident memory at the end.
func WriteStatus(w io.Writer, st []ChildStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance\tstate\tpid\tuptime\trestarts\tmemory\tlast exit\t")
	var total int64
	for _, s := range st {
		pid, uptime := "-", "-"
		if s.PID != 0 {
			pid, uptime = strconv.Itoa(s.PID), time.Duration(s.Uptime).Round(time.Second).String()
		}
		last := s.LastExit
		if s.Error != "" {
			last = s.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t\n", s.Instance, s.State, pid, uptime, s.Restarts, MiB(s.RSS), or(last, "-"))
		total += s.RSS
	}
	fmt.Fprintf(tw, "\t\t\t\ttotal\t%s\t\t\n", MiB(total))
	return tw.Flush()
}

// MiB formats a byte count in mebibytes, such as "12.3 MiB".
func MiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// StatusHandler serves the status of m's children at "/": a text table, or
// JSON when the query has format=json. Any other path is 404 Not Found.
func (m *Manager) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		st := m.Status()
		if r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(st)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = WriteStatus(w, st)
	})
}
