package proc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crewkit/crew/internal/pipebench"
	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
	"github.com/crewkit/crew/wire"
)

// Job is the tests' task: Op says what the child does.
type Job struct {
	Op    string
	N     int
	Text  string
	Extra any // set to an unencodable value by the encode tests
}

// Reply is the tests' result.
type Reply struct {
	PID   int
	Text  string
	Extra any
}

// hoard keeps what the "hog" op allocates, so that it stays resident.
var hoard [][]byte

// testWorker is the worker the test children serve.
type testWorker struct{}

func (testWorker) Handle(ctx context.Context, j Job) (Reply, error) {
	pid := os.Getpid()
	switch j.Op {
	case "upper":
		return Reply{PID: pid, Text: strings.ToUpper(j.Text)}, nil
	case "pid":
		return Reply{PID: pid}, nil
	case "getenv":
		return Reply{PID: pid, Text: os.Getenv(j.Text)}, nil
	case "print":
		fmt.Println("out:", j.Text)
		fmt.Fprintln(os.Stderr, "err:", j.Text)
		return Reply{PID: pid}, nil
	case "block": // waits for cancellation
		fmt.Println("blocking", pid)
		<-ctx.Done()
		return Reply{}, ctx.Err()
	case "ignore": // ignores cancellation
		fmt.Println("ignoring", pid)
		time.Sleep(time.Hour)
		return Reply{}, nil
	case "exit":
		fmt.Fprintln(os.Stderr, "about to exit")
		os.Exit(j.N)
	case "hog": // allocates and touches N MiB
		for range j.N {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1 // one write per page makes it resident
			}
			hoard = append(hoard, b)
		}
		return Reply{PID: pid}, nil
	case "panic":
		panic("child panicked")
	case "fatal":
		return Reply{}, pool.Fatal(errors.New("state corrupt"))
	case "timeout":
		return Reply{}, fmt.Errorf("upstream: %w", pool.ErrTimeout)
	case "badresult":
		return Reply{PID: pid, Extra: func() {}}, nil
	case "spin": // about N microseconds of CPU
		spin(time.Duration(j.N) * time.Microsecond)
		return Reply{PID: pid}, nil
	}
	return Reply{}, fmt.Errorf("unknown op %q", j.Op)
}

// mailWorker receives messages from the pool's owner and posts to it.
type mailWorker struct {
	info pool.WorkerInfo
	last string // the last message received: worker state, no lock needed
}

func (m *mailWorker) Handle(_ context.Context, j Job) (Reply, error) {
	switch j.Op {
	case "last":
		return Reply{PID: os.Getpid(), Text: m.last}, nil
	case "post":
		for i := range j.N {
			if err := m.info.Post(fmt.Sprintf("%s %d", j.Text, i)); err != nil {
				return Reply{}, err
			}
		}
		return Reply{PID: os.Getpid()}, nil
	}
	return Reply{}, fmt.Errorf("unknown op %q", j.Op)
}

func (m *mailWorker) Receive(_ context.Context, msg any) error {
	switch msg {
	case "panic":
		panic("receive panicked")
	case "fatal":
		return pool.Fatal(errors.New("cannot go on"))
	case "fail":
		return errors.New("bad message")
	}
	m.last = fmt.Sprint(msg)
	return nil
}

func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

func testFactory(context.Context, pool.WorkerInfo) (pool.Worker[Job, Reply], error) {
	return testWorker{}, nil
}

// serveRole runs the child side of role and returns the exit code.
func serveRole(role string) int {
	ctx := context.Background()
	var err error
	switch role {
	case "echo":
		err = proc.Serve(ctx, testFactory, proc.ServeOptions{})
	case "echo-json":
		err = proc.Serve(ctx, testFactory, proc.ServeOptions{Codec: wire.JSON})
	case "upper":
		err = proc.Serve(ctx, func(context.Context, pool.WorkerInfo) (pool.Worker[string, string], error) {
			return pool.Func[string, string](func(_ context.Context, s string) (string, error) {
				return strings.ToUpper(s), nil
			}), nil
		}, proc.ServeOptions{})
	case "square":
		err = proc.Serve(ctx, func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			return pool.Func[int, int](square), nil
		}, proc.ServeOptions{})
	case "spin":
		err = proc.Serve(ctx, func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			return pool.Func[int, int](spinTask), nil
		}, proc.ServeOptions{})
	case "mail":
		err = proc.Serve(ctx, func(_ context.Context, info pool.WorkerInfo) (pool.Worker[Job, Reply], error) {
			return &mailWorker{info: info}, nil
		}, proc.ServeOptions{})
	case "pipe-square":
		err = pipebench.Serve()
	case "early-exit":
		fmt.Fprintln(os.Stderr, "no configuration found")
		return 3
	case "bad-factory":
		err = proc.Serve(ctx, func(context.Context, pool.WorkerInfo) (pool.Worker[Job, Reply], error) {
			return nil, errors.New("database unreachable")
		}, proc.ServeOptions{})
	case "silent": // never answers the handshake
		time.Sleep(time.Hour)
	case "middle": // a parent that prints its child's PID and waits to be killed
		p, err := pool.New(proc.Factory[Job, Reply](proc.Self("echo"), proc.Options{}), pool.Options{MaxWorkers: 1})
		if err != nil {
			break
		}
		r, err := p.Run(ctx, Job{Op: "pid"})
		if err != nil {
			break
		}
		fmt.Println(r.PID)
		time.Sleep(time.Hour)
	case "garbage", "double", "future":
		err = misbehave(role)
	case "ready-exit": // completes its handshake, then exits at once
		r := bufio.NewReader(os.NewFile(proc.TaskFD, "tasks"))
		if _, err := wire.ReadFrame(r, 0); err != nil {
			return 1
		}
		w := os.NewFile(proc.ReplyFD, "replies")
		if err := wire.WriteFrame(w, wire.Frame{Kind: proc.KindReady, Body: proc.ReadyBody(proc.ProtocolVersion, "gob")}, 0); err != nil {
			return 1
		}
		fmt.Fprintln(os.Stderr, "leaving after the handshake")
		return 3
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// misbehave speaks the protocol by hand and breaks it: it answers the
// handshake with protocol version 99 ("future"), or after a valid handshake
// it writes garbage for its first task ("garbage"), or answers each task
// twice in one write ("double").
func misbehave(role string) error {
	r := bufio.NewReader(os.NewFile(proc.TaskFD, "tasks"))
	w := os.NewFile(proc.ReplyFD, "replies")
	if _, err := wire.ReadFrame(r, 0); err != nil {
		return err
	}
	version := proc.ProtocolVersion
	if role == "future" {
		version = 99
	}
	if err := wire.WriteFrame(w, wire.Frame{Kind: proc.KindReady, Body: proc.ReadyBody(version, "gob")}, 0); err != nil {
		return err
	}
	dec, enc := wire.Gob.NewDecoder(), wire.Gob.NewEncoder()
	for {
		f, err := wire.ReadFrame(r, 0)
		if err != nil {
			return nil
		}
		var j Job
		if err := dec.Decode(f.Body, &j); err != nil {
			return err
		}
		if role == "garbage" {
			if _, err := w.Write([]byte("\x00\x00\x00\x05?garbage on the protocol pipe")); err != nil {
				return err
			}
			_, err := io.Copy(io.Discard, r) // until the parent kills it
			return err
		}
		body, err := enc.Encode(&Reply{PID: os.Getpid()})
		if err != nil {
			return err
		}
		fr := wire.Frame{Kind: proc.KindResult, ID: f.ID, Body: body}
		if _, err := w.Write(wire.AppendFrame(wire.AppendFrame(nil, fr), fr)); err != nil {
			return err
		}
	}
}
