package main

import (
	"testing"
	"time"

	"github.com/crewkit/crew/examples/internal/loadgen"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Run("the default is one open loop at 1.5x capacity", func(t *testing.T) {
		cfg, err := parse(nil)
		require.NoError(t, err)
		require.Equal(t, []load{{model: loadgen.Open, clients: 256, overload: 1.5, abandon: 0.25}}, cfg.loads)
		require.Equal(t, 10*time.Second, cfg.duration)
		require.Equal(t, 1, cfg.repeat)
	})
	t.Run("the suite runs every load three times in short cells", func(t *testing.T) {
		cfg, err := parse([]string{"-suite"})
		require.NoError(t, err)
		require.Equal(t, suite, cfg.loads)
		require.Equal(t, 3*time.Second, cfg.duration)
		require.Equal(t, time.Second, cfg.warmup)
		require.Equal(t, 3, cfg.repeat)
		require.Equal(t, 256, cfg.capClients)
	})
	t.Run("flags given win over the suite's defaults", func(t *testing.T) {
		cfg, err := parse([]string{"-suite", "-rounds=1", "-duration=5s"})
		require.NoError(t, err)
		require.Equal(t, 1, cfg.repeat)
		require.Equal(t, 5*time.Second, cfg.duration)
	})
	t.Run("a client model is chosen by name", func(t *testing.T) {
		cfg, err := parse([]string{"-load=abandon", "-clients=64", "-abandon=0.5"})
		require.NoError(t, err)
		require.Equal(t, loadgen.Abandon, cfg.loads[0].model)
		require.Equal(t, 0.5, cfg.loads[0].abandon)
		require.Equal(t, 64, cfg.capClients)
	})
	t.Run("-max-wait sets the pool server's waiting budget and the header says so", func(t *testing.T) {
		cfg, err := parse([]string{"-max-wait=350ms"})
		require.NoError(t, err)
		require.Equal(t, 350*time.Millisecond, cfg.maxWait)
		require.Contains(t, header(cfg, nil, "0", "0"), "waiting budget (-max-wait): 350ms")
		cfg, err = parse(nil)
		require.NoError(t, err)
		require.NotContains(t, header(cfg, nil, "0", "0"), "-max-wait")
	})
	t.Run("-procs sets the servers' GOMAXPROCS and the header says so", func(t *testing.T) {
		cfg, err := parse([]string{"-procs=3"})
		require.NoError(t, err)
		require.Equal(t, 3, cfg.procs)
		require.Contains(t, header(cfg, nil, "0", "0"), "GOMAXPROCS (-procs): 3.")
		cfg, err = parse(nil)
		require.NoError(t, err)
		require.NotContains(t, header(cfg, nil, "0", "0"), "-procs")
	})
	for _, tc := range []struct{ name, arg, msg string }{
		{"an unknown model is refused", "-load=storm", `unknown model "storm"`},
		{"a fraction above one is refused", "-abandon=2", "-abandon must be in (0, 1]"},
		{"a negative GOMAXPROCS is refused", "-procs=-1", "-procs must be >= 0"},
		{"a negative worker count is refused", "-workers=-2", "-workers, -queue and -procs must be >= 0"},
		{"too many rounds are refused", "-rounds=50", "-rounds must be between 1 and 10"},
		{"the baseline must come first", "-modes=pool,plain", "-modes must start with plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]string{tc.arg})
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestLoad(t *testing.T) {
	t.Run("an open loop offers a multiple of capacity unless given a rate", func(t *testing.T) {
		cfg := config{timeout: time.Second}
		require.Equal(t, 300.0, load{model: loadgen.Open, clients: 8, overload: 3}.options(cfg, 100).Rate)
		require.Equal(t, 50.0, load{model: loadgen.Open, clients: 8, overload: 3, rate: 50}.options(cfg, 100).Rate)
	})
	t.Run("every load of the suite has a distinct name", func(t *testing.T) {
		seen := map[string]bool{}
		for _, l := range suite {
			require.False(t, seen[l.String()], l.String())
			seen[l.String()] = true
		}
	})
}
