// Command distributed runs crew's remote workers end to end on one machine:
// an embedded NATS server, three member processes of this same binary, and
// a caller that drives load, first in core mode (request/reply in a queue
// group), then in durable mode (a JetStream work queue). A few seconds in it
// kills one member with SIGKILL and starts it again, then prints per-member
// throughput, latency percentiles, and the tasks retried and lost.
//
//	cd examples && go run ./distributed
//	go run ./distributed -nats nats://10.0.0.5:4222   # join external servers
//
// With -nats the members and the caller connect to those servers instead of
// an embedded one; run more members on other machines with
// "distributed member -nats URL -mode core|durable -name NAME".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/nats-io/nats.go"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "member" {
		runMember()
		return
	}
	exe, err := os.Executable()
	if err == nil {
		_, err = run(os.Args[1:], exe, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "distributed:", err)
		os.Exit(1)
	}
}

// config holds the caller's flags.
type config struct {
	nats     string
	members  int
	duration time.Duration
	killAt   time.Duration
	callers  int
	work     int
	modes    []string
}

func parse(args []string, usage io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("distributed", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&c.nats, "nats", "", "NATS server URLs, comma-separated; empty starts an embedded server")
	fs.IntVar(&c.members, "members", 3, "member processes to start")
	fs.DurationVar(&c.duration, "duration", 6*time.Second, "load time per mode")
	fs.DurationVar(&c.killAt, "kill-at", 2*time.Second, "when to SIGKILL one member (and start it again)")
	fs.IntVar(&c.callers, "callers", 32, "tasks in flight")
	fs.IntVar(&c.work, "work", 16, "SHA-256 rounds per task (about 1 us each)")
	modes := fs.String("modes", "core,durable", "modes to run, comma-separated")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.modes = strings.Split(*modes, ",")
	if c.members < 1 {
		return c, fmt.Errorf("-members must be at least 1, got %d", c.members)
	}
	if c.killAt <= 0 || c.killAt >= c.duration {
		return c, fmt.Errorf("-kill-at must be within -duration (%v), got %v", c.duration, c.killAt)
	}
	return c, nil
}

// run drives every mode and returns the IDs of the member processes it
// started, all of which have exited when it returns.
func run(args []string, exe string, w io.Writer) ([]int, error) {
	c, err := parse(args, w)
	if err != nil {
		return nil, err
	}
	url := c.nats
	if url == "" {
		srv, err := remote.NewServer(remote.ServerOptions{})
		if err != nil {
			return nil, err
		}
		defer srv.Close()
		url = srv.URL()
		fmt.Fprintf(w, "embedded NATS server at %s\n", url)
	}
	var pids []int
	var lost int
	for _, mode := range c.modes {
		p, l, err := runMode(c, exe, url, mode, w)
		pids = append(pids, p...)
		lost += l
		if err != nil {
			return pids, err
		}
	}
	if lost > 0 {
		return pids, fmt.Errorf("%d tasks lost that the mode promised to keep", lost)
	}
	return pids, nil
}

// runMode starts the members, drives load while killing and restarting
// one, stops everything and prints the results.
func runMode(c config, exe, url, mode string, w io.Writer) ([]int, int, error) {
	kids := &children{exe: exe, args: []string{"-nats", url, "-mode", mode}}
	defer kids.stopAll(5 * time.Second)
	var first *child
	for i := 1; i <= c.members; i++ {
		ch, err := kids.start(fmt.Sprintf("member-%d", i))
		if err != nil {
			return kids.started(), 0, err
		}
		if first == nil {
			first = ch
		}
	}
	nc, err := nats.Connect(url, nats.Name("caller"))
	if err != nil {
		return kids.started(), 0, err
	}
	defer nc.Close()
	t := newTally()
	onEvent := func(e remote.Event) {
		switch e.Kind {
		case remote.Resent:
			t.resent.Add(1)
		case remote.Redelivered:
			t.redelivered.Add(1)
		}
	}
	var factory pool.Factory[Task, Result]
	drain := 2 * time.Second
	if mode == "core" {
		factory = remote.Factory[Task, Result](nc, service, remote.Options{
			Heartbeat: heartbeat, LostAfter: lostAfter, OnEvent: onEvent})
	} else {
		o := durableOptions()
		o.OnEvent = onEvent
		factory = remote.DurableFactory[Task, Result](nc, service, o)
		drain = 3 * ackWait
	}
	p, err := pool.New(factory, pool.Options{Name: mode + " callers", MaxWorkers: c.callers})
	if err != nil {
		return kids.started(), 0, err
	}
	defer p.Close(context.Background())

	killed := make(chan error, 1)
	go func() {
		time.Sleep(c.killAt) // the scenario's schedule, not synchronisation
		first.kill()
		fmt.Fprintf(w, "%s: killed %s (pid %d) with SIGKILL\n", mode, first.name, first.cmd.Process.Pid)
		time.Sleep(500 * time.Millisecond)
		ch, err := kids.start(first.name)
		if err == nil {
			fmt.Fprintf(w, "%s: started %s again (pid %d)\n", mode, first.name, ch.cmd.Process.Pid)
		}
		killed <- err
	}()
	start := time.Now()
	drive(p, t, c.callers, c.work, c.duration, drain, mode == "core")
	elapsed := time.Since(start)
	t.restarts = p.Stats().Restarts
	if err := <-killed; err != nil {
		return kids.started(), 0, err
	}
	t.report(w, mode, elapsed)
	if err := p.Close(context.Background()); err != nil && !errors.Is(err, pool.ErrClosed) {
		return kids.started(), 0, err
	}
	kids.stopAll(5 * time.Second)
	return kids.started(), t.lostAny(), nil
}
