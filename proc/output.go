package proc

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync"
)

// maxLine is the longest line forwarded in one piece; a longer one is
// forwarded in pieces of this size.
const maxLine = 16 << 10

// maxTailLine is how much of one stderr line an error keeps.
const maxTailLine = 512

// sink writes forwarded lines for one factory's children.
type sink struct {
	mu     sync.Mutex
	out    io.Writer // nil: os.Stdout and os.Stderr by stream
	logger *slog.Logger
}

func (s *sink) line(worker, pid int, stream, text string) {
	if s.logger != nil {
		s.logger.LogAttrs(context.Background(), slog.LevelInfo, text,
			slog.Int("worker", worker), slog.Int("pid", pid), slog.String("stream", stream))
		return
	}
	w := s.out
	if w == nil {
		w = os.Stdout
		if stream == "stderr" {
			w = os.Stderr
		}
	}
	buf := make([]byte, 0, len(text)+24)
	buf = append(buf, "worker "...)
	buf = appendInt(buf, worker)
	buf = append(buf, ": "...)
	buf = append(append(buf, text...), '\n')
	s.mu.Lock()
	_, _ = w.Write(buf)
	s.mu.Unlock()
}

func appendInt(b []byte, n int) []byte {
	if n < 0 {
		b, n = append(b, '-'), -n
	}
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// tail keeps the last lines of a stream, and the last line in which a Go
// runtime said why it is dying: its goroutine dump that follows would push
// that line out of the tail.
type tail struct {
	mu    sync.Mutex
	lines []string
	max   int
	cause string
}

func (t *tail) add(s string) {
	if len(s) > maxTailLine {
		s = s[:maxTailLine]
	}
	t.mu.Lock()
	if strings.HasPrefix(s, "fatal error: ") || strings.HasPrefix(s, "panic: ") {
		t.cause = s
	}
	if len(t.lines) == t.max {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:t.max-1]
	}
	t.lines = append(t.lines, s)
	t.mu.Unlock()
}

func (t *tail) get() (lines []string, cause string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...), t.cause
}

// forward reads r line by line until it ends, passing each line to emit
// and, when t is not nil, to t.
func forward(r io.Reader, emit func(string), t *tail) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			if b[len(b)-1] == '\n' {
				b = b[:len(b)-1]
			}
			if len(b) > 0 && b[len(b)-1] == '\r' {
				b = b[:len(b)-1]
			}
			s := string(b)
			emit(s)
			if t != nil {
				t.add(s)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// stack returns the stack of the calling goroutine.
func stack() []byte { return debug.Stack() }
