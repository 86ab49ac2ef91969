package manager_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/examples/internal/reuseport"
	"github.com/crewkit/crew/pool"
	"go.uber.org/goleak"
)

// childEnv selects what the test binary does when it runs as a child.
const childEnv = "MANAGER_TEST_CHILD"

// TestMain runs the test binary as a tiny server when the manager under
// test starts it as a child, and the tests otherwise.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := runChild(mode); err != nil {
			fmt.Fprintln(os.Stderr, "test child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// runChild is a child: "serve" is a well-behaved server; "fail" exits at
// once with a message, as a server given a bad flag does; "flaky" crashes
// right after it is ready; "noisy" logs requests and then the cause of its
// crash to stderr, as JSON, and crashes; "stubborn" serves and ignores
// SIGTERM; "mute" serves without joining the manager's channel. The
// serving ones but "mute" join the channel and obey testChannel's messages.
func runChild(mode string) error {
	switch mode {
	case "fail":
		return errors.New("flag provided but not defined: -bogus")
	case "flaky":
		fmt.Println("ready")
		os.Exit(2)
	case "noisy":
		fmt.Println("ready")
		fmt.Fprintln(os.Stderr, `{"level":"INFO","msg":"listening","addr":"127.0.0.1:1"}`)
		for i := range 20 {
			fmt.Fprintf(os.Stderr, `{"level":"INFO","msg":"request","path":"/api/%d","status":200}`+"\n", i)
		}
		fmt.Fprintln(os.Stderr, `{"level":"ERROR","msg":"disk full","path":"/var/tmp"}`)
		fmt.Fprintf(os.Stderr, `{"level":"INFO","msg":"request","path":"/api/last","status":500}`+"\n")
		fmt.Fprint(os.Stderr, "panic: disk full")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if mode == "stubborn" {
		stop()
		signal.Ignore(syscall.SIGTERM)
		ctx = context.Background()
	}
	ln, err := reuseport.Listen(ctx, os.Getenv("CREW_ADDR"))
	if err != nil {
		return err
	}
	if mode != "mute" {
		if err := joinChannel(); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: childHandler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Println("ready", ln.Addr())
	fmt.Println("a line that is not the ready line")
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// joinChannel joins the manager's channel with a pool of two workers to
// report, and obeys these messages: "echo" sends its data back, "wedge"
// blocks the channel's goroutine for good, so that heartbeats go
// unanswered, and "not-ready" makes the child report itself not ready. A
// log level message is answered with a "level" message holding the level
// now in force. The channel stays open until the process exits.
func joinChannel() error {
	p, err := pool.NewTasks(pool.Options{MaxWorkers: 2, MinWorkers: 2})
	if err != nil {
		return err
	}
	var ready atomic.Bool
	ready.Store(true)
	var level slog.LevelVar
	var child *ipc.Child
	child, err = ipc.Open(ipc.ChildOptions{
		Level:  &level,
		Logger: slog.New(slog.DiscardHandler),
		Report: func(r *ipc.Report) { r.Ready, r.Pool = ready.Load(), ipc.PoolOf(p.Stats()) },
		OnMessage: func(m ipc.Message) {
			switch m.Type {
			case "echo":
				_ = child.Send(context.Background(), m)
			case ipc.TypeLogLevel:
				reply, _ := ipc.NewMessage("level", level.Level().String())
				_ = child.Send(context.Background(), reply)
			case "wedge":
				select {}
			case "not-ready":
				ready.Store(false)
			}
		},
	})
	if err == nil && child == nil {
		err = errors.New("no channel: " + ipc.EnvVar + " is unset")
	}
	return err
}

// childHandler answers / with the child's pid, and /slow with headers at
// once and the pid 300ms later, a request in flight during a stop.
func childHandler() http.Handler {
	pid := strconv.Itoa(os.Getpid())
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(pid)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(300 * time.Millisecond) // the work of a slow request
		_, _ = w.Write([]byte(pid))
	})
	return mux
}
