package remote_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// job is the task type of the tests: Op picks what the member does.
type job struct {
	Op   string
	Text string
	Size int
}

// handler does what a job asks. started, if set, receives the job's Text
// when a "block" job starts; release ends the blocked jobs.
type handler struct {
	started chan string
	release chan struct{}
}

func newHandler() *handler {
	return &handler{started: make(chan string, 16), release: make(chan struct{})}
}

func (h *handler) run(ctx context.Context, j job) (string, error) {
	switch j.Op {
	case "panic":
		panic("boom: " + j.Text)
	case "fail":
		return "", &userError{j.Text}
	case "block":
		h.started <- j.Text
		select {
		case <-h.release:
			return "released " + j.Text, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	case "big":
		return string(make([]byte, j.Size)), nil
	}
	return "echo " + j.Text, nil
}

type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

// connect returns a connection to s that the test's cleanup closes.
func connect(t testing.TB, s *remote.Server) *nats.Conn {
	t.Helper()
	nc, err := s.Connect()
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	return nc
}

// member serves fn as service "svc" on its own connection; the cleanup
// stops the member, closes its pool and its connection, in that order.
type member struct {
	nc   *nats.Conn
	pool *pool.Pool[job, string]
	m    *remote.Member[job, string]
}

func startMember(t testing.TB, s *remote.Server, fn func(context.Context, job) (string, error),
	po pool.Options, mo remote.MemberOptions) *member {
	t.Helper()
	nc, err := s.Connect()
	require.NoError(t, err)
	p, err := pool.NewFunc(fn, po)
	require.NoError(t, err)
	m, err := remote.Serve(nc, "svc", p, mo)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Stop(ctx)
		require.NoError(t, p.Close(ctx))
		nc.Close()
	})
	return &member{nc: nc, pool: p, m: m}
}

// callers returns a caller-side pool of service "svc" that the cleanup
// closes.
func callers(t testing.TB, nc *nats.Conn, o remote.Options, po pool.Options) *pool.Pool[job, string] {
	t.Helper()
	p, err := pool.New(remote.Factory[job, string](nc, "svc", o), po)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, p.Close(ctx))
	})
	return p
}

// events records a caller's events.
type events struct {
	mu   sync.Mutex
	seen []remote.Event
	hook chan remote.Event
}

func newEvents() *events { return &events{hook: make(chan remote.Event, 1024)} }

func (e *events) add(ev remote.Event) {
	e.mu.Lock()
	e.seen = append(e.seen, ev)
	e.mu.Unlock()
	select {
	case e.hook <- ev:
	default:
	}
}

func (e *events) count(k remote.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.seen {
		if ev.Kind == k {
			n++
		}
	}
	return n
}
