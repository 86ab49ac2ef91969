// Command compare measures, in one run on one machine, five ways to serve
// the example server's CPU-heavy endpoint: a plain server in one process,
// the same server with its crew pool of goroutine workers, the same server
// with a crew pool of process workers (each worker a child process, -mode
// proc), a cluster of N plain processes sharing the port (as Node's
// cluster module or pm2 would run it), and the same cluster with more
// processes than CPUs (-over-processes, twice the CPUs by default). It
// reports throughput, p50 and p99 latency and the total resident memory at
// three offered loads (an open loop), goodput, rejections and latency under
// closed loops of clients that retry at once (64 and 256 of them, or the
// client models -models names), what one crashing request does to the
// other requests, and draws latency, goodput and rejections as an SVG
// chart.
//
// Run it from the examples directory (about five minutes on 2 cores):
//
//	go run ./compare
//
// The chart goes to pool-vs-cluster.svg in the system's temporary directory
// (os.TempDir, /tmp on Linux), so a run leaves the checkout clean; -chart
// names another file, and -chart ../docs/pool-vs-cluster.svg regenerates
// the chart that docs/pool-vs-cluster.md shows.
//
// It builds the server once into a temporary directory and runs every
// setup under the process manager of examples/cluster, which restarts a
// crashed process; the load comes from the vegeta library in this process,
// over loopback. Markdown tables go to stdout, progress to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/internal/cpuwork"
)

// config is the command line.
type config struct {
	work      time.Duration
	duration  time.Duration
	warmup    time.Duration
	crashFor  time.Duration
	levels    []float64
	crashLoad float64
	clients   int
	processes int
	over      int // processes of the oversubscribed cluster
	workers   int
	chart     string
	setups    []string
	capFor    time.Duration
	loads     []clientLoad // closed loops, after the open-loop levels
	abandon   float64      // fraction of abandoning clients
	rounds    int          // from calibration

	// The two pools taking turns (see measurePairs).
	pairRounds, pairClients int
	pairFor                 time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func parse(args []string) (config, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var c config
	var levels, names, models, modelClients string
	fs.DurationVar(&c.work, "work", 2*time.Millisecond, "CPU time of one request")
	fs.DurationVar(&c.duration, "duration", 8*time.Second, "measured load per setup and level")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before each measurement")
	fs.DurationVar(&c.crashFor, "crash-duration", 6*time.Second, "steady load around each crash, which comes after a quarter of it")
	fs.StringVar(&levels, "levels", "0.5,1,1.5", "offered loads, as multiples of the plain server's measured capacity")
	fs.Float64Var(&c.crashLoad, "crash-load", 0.5, "offered load during the crash experiments, as a multiple of capacity")
	fs.IntVar(&c.clients, "clients", 256, "most concurrent clients")
	fs.IntVar(&c.processes, "processes", runtime.NumCPU(), "processes of the cluster")
	fs.IntVar(&c.over, "over-processes", 2*runtime.NumCPU(), "processes of the cluster-over setup, more than the CPUs")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "workers of the crew pools, goroutines (pool) or child processes (proc)")
	fs.StringVar(&c.chart, "chart", defaultChart(), "where to write the SVG chart (../docs/pool-vs-cluster.svg regenerates the docs' chart)")
	fs.StringVar(&names, "setups", strings.Join(setupNames, ","), "setups to measure, in order: "+strings.Join(setupNames, ", "))
	fs.DurationVar(&c.capFor, "capacity-duration", 3*time.Second, "how long to measure the plain server's capacity")
	fs.StringVar(&models, "models", "retry", "closed-loop client models measured after the levels: retry, retry-after, abandon (comma-separated; empty for none)")
	fs.StringVar(&modelClients, "model-clients", "64,256", "client counts of each closed-loop model")
	fs.Float64Var(&c.abandon, "abandon", 0.25, "abandon model: fraction of clients that cancel each request after a random 1-60ms")
	fs.IntVar(&c.pairRounds, "pair-rounds", 3, "rounds in which the pool and proc setups take turns, each started afresh (0 for none; needs both in -setups)")
	fs.IntVar(&c.pairClients, "pair-clients", 64, "clients retrying at once in each turn of -pair-rounds")
	fs.DurationVar(&c.pairFor, "pair-duration", 4*time.Second, "measured load of each turn of -pair-rounds, after -warmup")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	loads, err := parseLoads(models, modelClients)
	if err != nil {
		return c, err
	}
	c.loads = loads
	for l := range strings.SplitSeq(levels, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(l), 64)
		if err != nil || f <= 0 {
			return c, fmt.Errorf("-levels must be positive numbers separated by commas, got %q", levels)
		}
		c.levels = append(c.levels, f)
	}
	for n := range strings.SplitSeq(names, ",") {
		if !slices.Contains(setupNames, n) {
			return c, fmt.Errorf("-setups must name %s, got %q", strings.Join(setupNames, ", "), n)
		}
		c.setups = append(c.setups, n)
	}
	switch {
	case c.capFor <= 0:
		return c, fmt.Errorf("-capacity-duration must be > 0")
	case c.work <= 0 || c.duration <= 0 || c.warmup < 0 || c.crashFor < 400*time.Millisecond:
		return c, fmt.Errorf("-work and -duration must be > 0, -warmup >= 0 and -crash-duration >= 400ms")
	case c.clients < 1 || c.processes < 1 || c.over < 1 || c.workers < 1 || c.crashLoad <= 0:
		return c, fmt.Errorf("-clients, -processes, -over-processes and -workers must be >= 1 and -crash-load > 0")
	case c.duration+c.warmup > time.Minute || len(c.levels) > 6 || len(c.loads) > 6:
		return c, fmt.Errorf("-duration plus -warmup must be at most 1m, with at most 6 -levels and 6 closed-loop loads")
	case !(c.abandon > 0 && c.abandon <= 1):
		return c, fmt.Errorf("-abandon must be in (0, 1]")
	case c.pairRounds < 0 || c.pairRounds > 20 || c.pairClients < 1 || c.pairFor <= 0 || c.pairFor > time.Minute:
		return c, fmt.Errorf("-pair-rounds must be in [0, 20], -pair-clients >= 1 and -pair-duration in (0, 1m]")
	}
	return c, nil
}

// defaultChart is where the chart goes without -chart: outside the
// checkout, so that a run leaves it clean.
func defaultChart() string { return filepath.Join(os.TempDir(), "pool-vs-cluster.svg") }

// run runs the comparison that args describe and writes its tables to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "crew-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildServer(ctx, dir)
	if err != nil {
		return err
	}
	cfg.rounds = cpuwork.Calibrate(cfg.work)
	progress("%d CPUs, %s; %d SHA-256 rounds ≈ %v of CPU per request", runtime.NumCPU(), runtime.Version(), cfg.rounds, cfg.work)
	all := setups(cfg.processes, cfg.over, cfg.workers)
	capacity, err := measureCapacity(ctx, cfg, all[0], bin)
	if err != nil {
		return err
	}
	var res results
	ss := pick(all, cfg.setups)
	for _, s := range ss {
		if err := runSetup(ctx, cfg, s, bin, capacity, &res); err != nil {
			return err
		}
	}
	if pools := pick(all, []string{"pool", "proc"}); cfg.pairRounds > 0 && slices.Contains(cfg.setups, "pool") && slices.Contains(cfg.setups, "proc") {
		if res.pairs, err = measurePairs(ctx, cfg, pools[0], pools[1], bin); err != nil {
			return err
		}
	}
	return report(out, cfg, ss, capacity, res)
}

// measureCapacity measures what the plain server serves with every client
// sending back to back.
func measureCapacity(ctx context.Context, cfg config, plain setup, bin string) (float64, error) {
	r, err := start(ctx, plain, bin, cfg.workers)
	if err != nil {
		return 0, err
	}
	// Stop is idempotent: this stops the processes on the error paths and
	// waits for the Stop below on the others.
	defer func() { _ = r.m.Stop(context.Background()) }()
	c := capacityOf(cfg, r)
	progress("capacity: the plain server serves %.0f req/s to %d clients in a closed loop", c, cfg.clients)
	if c < 1 {
		return 0, fmt.Errorf("the plain server served nothing; is the machine overloaded?")
	}
	return c, r.m.Stop(ctx)
}

// capacityOf is capacity; tests replace it to force measureCapacity's
// error path.
var capacityOf = capacity

// results are every measurement of a run.
type results struct {
	points  []point       // open loop, by setup and level
	models  []modelPoint  // closed loops, by setup and load
	crashes []crashResult // by setup and fault
	pairs   []pairRound   // the two pools taking turns
}

// runSetup measures one setup at every open-loop level and closed-loop
// load, then injects each fault, adding to res. It stops the setup's
// processes on every path.
func runSetup(ctx context.Context, cfg config, s setup, bin string, capacity float64, res *results) error {
	r, err := start(ctx, s, bin, cfg.workers)
	if err != nil {
		return err
	}
	defer func() { _ = r.m.Stop(context.Background()) }()
	for _, l := range cfg.levels {
		p := measure(cfg, r, rate(capacity, l))
		progress("%s at %d req/s: goodput %.0f, p99 %s, %d rejected, %d failed", s.name, p.offered, p.goodput, ms(p.p99), p.rejected, p.failed)
		res.points = append(res.points, p)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for _, l := range cfg.loads {
		p, err := measureModel(ctx, cfg, r, l)
		if err != nil {
			return fmt.Errorf("%s, %s: %w", s.name, l, err)
		}
		progress("%s, %s: goodput %.0f, p99 %s, %d rejected, %d failed", s.name, l, p.goodput, ms(p.p99), p.rejected, p.failed)
		res.models = append(res.models, p)
	}
	if !s.crashes {
		return r.m.Stop(ctx)
	}
	for _, f := range faults {
		c, err := crashTest(ctx, cfg, r, rate(capacity, cfg.crashLoad), f.kind, f.label)
		if err != nil {
			return err
		}
		progress("%s, %s: %d of %d other requests failed %v", s.name, f.label, c.failed, c.requests, c.causes)
		res.crashes = append(res.crashes, c)
	}
	return r.m.Stop(ctx)
}

// pick returns the setups named, in the order named.
func pick(all []setup, names []string) []setup {
	var ss []setup
	for _, n := range names {
		for _, s := range all {
			if s.name == n {
				ss = append(ss, s)
			}
		}
	}
	return ss
}

func rate(capacity, level float64) int { return max(1, int(capacity*level)) }

// report writes the tables to w and the chart to its file.
func report(w io.Writer, cfg config, ss []setup, capacity float64, res results) error {
	fmt.Fprintf(w, "%d CPUs, %s/%s, %s. Each request: GET /api/digest, %d SHA-256 rounds (≈ %v of CPU).\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), cfg.rounds, cfg.work)
	fmt.Fprintf(w, "Capacity (plain server, %d clients back to back): %.0f req/s. Each load: %v after %v of warm-up, up to %d clients.\n\n",
		cfg.clients, capacity, cfg.duration, cfg.warmup, cfg.clients)
	writeLoadTable(w, ss, res.points)
	if len(res.models) > 0 {
		fmt.Fprintf(w, "\nClosed loops: each client sends its next request as soon as it has an answer (Retry-After clients first wait what a 503 says; abandoning clients, %.0f%% of them, cancel each request after a random 1-60ms). Each load: %v after %v of warm-up.\n\n",
			100*cfg.abandon, cfg.duration, cfg.warmup)
		writeModelTable(w, ss, res.models)
	}
	fmt.Fprintf(w, "\nCrashes: one crashing request after %v of %d req/s, for %v in all; a crashed process is restarted after %v.\n\n",
		cfg.crashFor/4, rate(capacity, cfg.crashLoad), cfg.crashFor, restartDelay)
	writeCrashTable(w, ss, res.crashes)
	if len(res.pairs) > 0 {
		fmt.Fprintln(w)
		all := setups(cfg.processes, cfg.over, cfg.workers)
		pools := pick(all, []string{"pool", "proc"})
		writePairTable(w, cfg, pools[0], pools[1], res.pairs)
	}
	f, err := os.Create(cfg.chart)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("Latency vs offered load: %d SHA-256 rounds per request, %d CPUs", cfg.rounds, runtime.NumCPU())
	if err := writeChart(f, title, ss, res.points, res.models); err != nil {
		_ = f.Close()
		return err
	}
	progress("chart written to %s", cfg.chart)
	return f.Close()
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
}
