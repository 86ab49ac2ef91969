// Command loadtest measures the example server under HTTP overload (target
// P6): a CPU endpoint of about 2 ms, offered at twice what the machine can
// serve by far more concurrent clients than cores. It runs the server three
// times, each in a child process on a loopback port (plain chi, chi's
// middleware.Throttle, and httpx.Offload on a crew pool), drives each with
// the vegeta load-generation library from this process, and prints a
// Markdown table with the ratios to plain chi. It stops by itself.
//
// Run it from the examples directory:
//
//	go run ./loadtest
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/crewkit/crew/examples/internal/cpuwork"
	"github.com/crewkit/crew/examples/server/app"
)

// config is the benchmark's settings.
type config struct {
	work     time.Duration
	duration time.Duration
	warmup   time.Duration
	rate     int
	overload float64
	clients  int
	workers  int
	queue    int
	modes    []app.Mode
	rounds   int
}

func main() {
	if len(os.Args) > 4 && os.Args[1] == "-serve" {
		if err := serveChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest server:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	cfg.rounds = cpuwork.Calibrate(cfg.work)
	fmt.Fprintf(os.Stderr, "%d CPUs; %d rounds ≈ %v of CPU per request\n", runtime.NumCPU(), cfg.rounds, cfg.work)
	if cfg.rate == 0 {
		capacity, err := calibrate(cfg)
		if err != nil {
			return fmt.Errorf("calibration: %w", err)
		}
		cfg.rate = max(1, int(cfg.overload*capacity))
		fmt.Fprintf(os.Stderr, "plain chi serves %.0f req/s with %d clients in a closed loop\n", capacity, cfg.clients)
	}
	fmt.Fprintf(os.Stderr, "offering %d req/s from up to %d clients for %v per mode\n", cfg.rate, cfg.clients, cfg.duration)
	var rows []row
	for _, m := range cfg.modes {
		r, err := measure(cfg, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		fmt.Fprintf(os.Stderr, "%s: done\n", m)
		rows = append(rows, r)
	}
	fmt.Print(table(cfg, rows))
	return nil
}

func parse(args []string) (config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var cfg config
	var modes string
	fs.DurationVar(&cfg.work, "work", 2*time.Millisecond, "CPU time of one request")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured load per mode")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	fs.IntVar(&cfg.rate, "rate", 0, "requests per second offered; 0 means -overload times the capacity measured first")
	fs.Float64Var(&cfg.overload, "overload", 1.5, "offered load as a multiple of the measured capacity, when -rate is 0")
	fs.IntVar(&cfg.clients, "clients", 256, "most concurrent clients (vegeta workers and connections)")
	fs.IntVar(&cfg.workers, "workers", 0, "server workers (throttle and pool); 0 means the server's default, GOMAXPROCS")
	fs.IntVar(&cfg.queue, "queue", 0, "server queue (throttle and pool); 0 means the server's default, 16 per worker")
	fs.StringVar(&modes, "modes", "plain,throttle,pool", "server modes to compare, plain first")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for m := range strings.SplitSeq(modes, ",") {
		cfg.modes = append(cfg.modes, app.Mode(m))
	}
	switch {
	case cfg.work <= 0 || cfg.duration <= 0 || cfg.warmup < 0:
		return cfg, fmt.Errorf("-work and -duration must be > 0 and -warmup >= 0")
	case cfg.rate < 0 || cfg.clients < 1 || !(cfg.overload >= 1):
		return cfg, fmt.Errorf("-rate must be >= 0, -clients >= 1 and -overload >= 1")
	case cfg.duration+cfg.warmup > 2*time.Minute:
		return cfg, fmt.Errorf("-duration plus -warmup must be at most 2m per mode")
	}
	return cfg, nil
}
