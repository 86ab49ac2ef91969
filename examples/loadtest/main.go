// Command loadtest measures the example server under HTTP overload
// (targets P6 and P6o): a CPU endpoint of about 2 ms, driven by far more
// concurrent clients than cores. It runs the server in child processes on
// loopback ports in three modes (plain chi, chi's middleware.Throttle, and
// httpx.Offload on a crew pool), drives them from this process with the
// client models of examples/internal/loadgen (an open loop at a multiple
// of the measured capacity, closed loops that retry at once or honour
// Retry-After, clients that abandon their requests), and prints a
// Markdown table with the ratios to plain chi. It stops by itself.
//
// Run it from the examples directory; the first command offers 1.5x
// capacity in an open loop, the second runs every load of the suite:
//
//	go run ./loadtest
//	go run ./loadtest -suite
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/internal/cpuwork"
	"github.com/crewkit/crew/examples/internal/loadgen"
	"github.com/crewkit/crew/examples/server/app"
)

// config is the benchmark's settings.
type config struct {
	work       time.Duration
	duration   time.Duration
	warmup     time.Duration
	capFor     time.Duration
	timeout    time.Duration
	repeat     int // rounds of the whole matrix
	loads      []load
	capClients int // clients of the capacity measurement
	workers    int
	queue      int
	maxWait    time.Duration // the pool server's waiting budget; 0 is its default
	procs      int           // the servers' GOMAXPROCS; 0 is the runtime's default
	modes      []app.Mode
	hashRounds int // SHA-256 rounds of one request, from calibration
}

func main() {
	if len(os.Args) > 6 && os.Args[1] == "-serve" {
		if err := serveChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest server:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	start := loadavg()
	cfg.hashRounds = cpuwork.Calibrate(cfg.work)
	progress("%d CPUs; %d rounds ≈ %v of CPU per request; load average %s", runtime.NumCPU(), cfg.hashRounds, cfg.work, start)
	var cells []cell
	for round := range cfg.repeat {
		cs, err := runRound(ctx, cfg, round)
		if err != nil {
			return fmt.Errorf("round %d: %w", round+1, err)
		}
		cells = append(cells, cs...)
	}
	fmt.Print(header(cfg, cells, start, loadavg()))
	fmt.Print(table(cfg, cells))
	return nil
}

// runRound starts a server per mode, measures capacity on the plain one,
// then runs every load against each server in turn, so that the modes of
// one load are measured seconds apart; the order of the modes rotates
// with the round, so that none is always measured first. It stops the
// servers on every path.
func runRound(ctx context.Context, cfg config, round int) (cells []cell, err error) {
	servers, err := startServers(cfg, cfg.modes)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, stopServers(servers)) }()
	capacity, err := measureCapacity(ctx, cfg, servers[0])
	if err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	progress("round %d: plain chi serves %.0f req/s to %d clients in a closed loop", round+1, capacity, cfg.capClients)
	for li, l := range cfg.loads {
		for i := range servers {
			mi := (i + round) % len(servers)
			srv := servers[mi]
			res, ran, err := runCell(ctx, cfg, srv, l, capacity)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", l, srv.mode, err)
			}
			progress("round %d, %s, %s: goodput %.0f req/s, p99 %v, %d rejected, %d errors",
				round+1, l, srv.mode, res.Goodput(), ms(res.Quantile(0.99)), res.Rejected, res.Other+res.Errors)
			cells = append(cells, cell{load: li, mode: mi, round: round, capacity: capacity, res: res, ran: ran})
		}
	}
	return cells, nil
}

// measureCapacity returns the successful responses per second of plain
// chi to cfg.capClients clients in a closed loop.
func measureCapacity(ctx context.Context, cfg config, plain *server) (float64, error) {
	c := cfg
	c.warmup, c.duration = min(cfg.warmup, time.Second), cfg.capFor
	res, _, err := runCell(ctx, c, plain, load{model: loadgen.Retry, clients: cfg.capClients}, 0)
	if err == nil && res.OK == 0 {
		err = errors.New("plain chi served nothing; is the machine overloaded?")
	}
	return res.Goodput(), err
}

func parse(args []string) (config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var cfg config
	var modes, model string
	var one load
	var runSuite bool
	fs.DurationVar(&cfg.work, "work", 2*time.Millisecond, "CPU time of one request")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured load per server and load (3s with -suite)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement (1s with -suite)")
	fs.DurationVar(&cfg.capFor, "capacity-duration", 3*time.Second, "how long to measure plain chi's capacity")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "client timeout of each request")
	fs.IntVar(&cfg.repeat, "rounds", 1, "rounds of the whole measurement, reported as medians and min-max (3 with -suite)")
	fs.BoolVar(&runSuite, "suite", false, "run every load: closed loops of 64 and 256 clients retrying at once, 256 honouring Retry-After, 32 and 256 with 25% abandoning, and open loops at 1.5x and 3x capacity")
	fs.StringVar(&model, "load", "open", "client model: open, retry (closed loop, retry at once), retry-after or abandon")
	fs.IntVar(&one.clients, "clients", 256, "concurrent clients; for the open loop, the most requests in flight")
	fs.IntVar(&one.rate, "rate", 0, "open loop: requests per second; 0 means -overload times the measured capacity")
	fs.Float64Var(&one.overload, "overload", 1.5, "open loop: offered load as a multiple of the measured capacity, when -rate is 0")
	fs.Float64Var(&one.abandon, "abandon", 0.25, "abandon: fraction of clients that cancel each request after a random 1-60ms")
	fs.IntVar(&cfg.workers, "workers", 0, "server workers (throttle and pool); 0 means the server's default, GOMAXPROCS")
	fs.IntVar(&cfg.queue, "queue", 0, "server queue (throttle and pool); 0 means the server's default, 256 per worker")
	fs.DurationVar(&cfg.maxWait, "max-wait", 0, "the pool server's waiting budget (httpx.Options.MaxWait); 0 means its default, 250ms, negative turns it off")
	fs.IntVar(&cfg.procs, "procs", 0, "the servers' GOMAXPROCS; 0 means the runtime's default. Workers default to the runtime's default either way, so a value above it leaves processors for the network")
	fs.StringVar(&modes, "modes", "plain,throttle,pool", "server modes to compare, plain first")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	var err error
	if one.model, err = loadgen.ParseModel(model); err != nil {
		return cfg, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	cfg.loads, cfg.capClients = []load{one}, one.clients
	if runSuite {
		cfg.loads, cfg.capClients = suite, 256
		suiteDefaults(&cfg, set)
	}
	for m := range strings.SplitSeq(modes, ",") {
		cfg.modes = append(cfg.modes, app.Mode(m))
	}
	return cfg, check(cfg, one)
}

// suiteDefaults shortens each measurement and repeats the matrix, for the
// flags not given, so that the suite takes about five minutes on 2 cores.
func suiteDefaults(cfg *config, set map[string]bool) {
	if !set["duration"] {
		cfg.duration = 3 * time.Second
	}
	if !set["warmup"] {
		cfg.warmup = time.Second
	}
	if !set["rounds"] {
		cfg.repeat = 3
	}
}

func check(cfg config, one load) error {
	switch {
	case cfg.work <= 0 || cfg.duration <= 0 || cfg.warmup < 0 || cfg.capFor <= 0 || cfg.timeout <= 0:
		return errors.New("-work, -duration, -capacity-duration and -timeout must be > 0 and -warmup >= 0")
	case one.rate < 0 || one.clients < 1 || !(one.overload > 0):
		return errors.New("-rate must be >= 0, -clients >= 1 and -overload > 0")
	case !(one.abandon > 0 && one.abandon <= 1):
		return errors.New("-abandon must be in (0, 1]")
	case cfg.workers < 0 || cfg.queue < 0 || cfg.procs < 0:
		return errors.New("-workers, -queue and -procs must be >= 0")
	case cfg.repeat < 1 || cfg.repeat > 10:
		return errors.New("-rounds must be between 1 and 10")
	case cfg.duration+cfg.warmup > 2*time.Minute:
		return errors.New("-duration plus -warmup must be at most 2m per server and load")
	case len(cfg.modes) == 0 || cfg.modes[0] != app.ModePlain:
		return errors.New("-modes must start with plain, the baseline of the ratios")
	}
	return nil
}

// loadavg returns the first three fields of /proc/loadavg, or "n/a".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "n/a"
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadtest: "+format+"\n", args...)
}
