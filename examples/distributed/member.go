package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/nats-io/nats.go"
)

// Task is one unit of work the caller sends.
type Task struct {
	N    int
	Work int // rounds of SHA-256 over 256 bytes
}

// Result says which member ran the task.
type Result struct {
	Member string
	Sum    [8]byte
}

// work is the task: a little CPU.
func work(name string) func(context.Context, Task) (Result, error) {
	return func(_ context.Context, t Task) (Result, error) {
		sum := sha256.Sum256([]byte(fmt.Sprint(t.N)))
		buf := make([]byte, 256)
		for range t.Work {
			copy(buf, sum[:])
			sum = sha256.Sum256(buf)
		}
		r := Result{Member: name}
		copy(r.Sum[:], sum[:])
		return r, nil
	}
}

// The settings both roles share, so that a killed member's tasks come back
// within the run.
const (
	service    = "distributed"
	heartbeat  = 100 * time.Millisecond
	lostAfter  = 500 * time.Millisecond
	ackWait    = time.Second
	maxDeliver = 5
)

func durableOptions() remote.DurableOptions {
	return remote.DurableOptions{AckWait: ackWait, MaxDeliver: maxDeliver}
}

// memberMain is a member process: it serves a pool on the service until
// its stdin closes (the parent stopped it or died), then stops cleanly.
func memberMain(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("member", flag.ContinueOnError)
	url := fs.String("nats", "", "NATS server URLs, comma-separated")
	mode := fs.String("mode", "core", "core or durable")
	name := fs.String("name", "member", "the member's name in results")
	workers := fs.Int("workers", 2, "workers in the member's pool")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, err := nats.Connect(*url, nats.Name(*name))
	if err != nil {
		return err
	}
	defer nc.Close()
	p, err := pool.NewFunc(work(*name), pool.Options{Name: *name, MaxWorkers: *workers, QueueSize: 4 * *workers})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	var stop func(context.Context) error
	switch *mode {
	case "core":
		m, err := remote.Serve(nc, service, p, remote.MemberOptions{})
		if err != nil {
			return err
		}
		stop = m.Stop
	case "durable":
		m, err := remote.ServeDurable(context.Background(), nc, service, p, durableOptions())
		if err != nil {
			return err
		}
		stop = m.Stop
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	fmt.Fprintln(stdout, "ready")
	_, _ = io.Copy(io.Discard, bufio.NewReader(stdin)) // until the parent closes it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return stop(ctx)
}

func runMember() {
	if err := memberMain(os.Args[2:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "member:", err)
		os.Exit(1)
	}
}
