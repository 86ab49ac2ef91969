//go:build unix

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/stretchr/testify/require"
)

func TestServerProcs(t *testing.T) {
	start := func(t *testing.T, cfg config) map[string]any {
		s, err := startServer(cfg, app.ModePool)
		require.NoError(t, err)
		defer func() { require.NoError(t, stopServers([]*server{s})) }()
		resp, err := http.Get("http://" + s.admin + "/debug/pool")
		require.NoError(t, err)
		defer resp.Body.Close()
		var st map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		return st
	}
	def := runtime.GOMAXPROCS(0)
	t.Run("a server given -procs runs with that GOMAXPROCS and keeps the default workers", func(t *testing.T) {
		st := start(t, config{procs: def + 1})
		require.EqualValues(t, def+1, st["runtime"].(map[string]any)["gomaxprocs"])
		require.EqualValues(t, def, st["max_workers"])
	})
	t.Run("workers given with -procs are kept", func(t *testing.T) {
		st := start(t, config{procs: def + 2, workers: 1})
		require.EqualValues(t, def+2, st["runtime"].(map[string]any)["gomaxprocs"])
		require.EqualValues(t, 1, st["max_workers"])
	})
	t.Run("without -procs a server keeps the runtime's default", func(t *testing.T) {
		st := start(t, config{})
		require.EqualValues(t, def, st["runtime"].(map[string]any)["gomaxprocs"])
		require.EqualValues(t, def, st["max_workers"])
	})
}

func TestRoundCleanup(t *testing.T) {
	t.Run("a failing round stops every server it started", func(t *testing.T) {
		var started []*server
		serverStarted = func(s *server) { started = append(started, s) }
		t.Cleanup(func() { serverStarted = func(*server) {} })
		cfg := config{work: time.Millisecond, duration: time.Second, capFor: time.Second, timeout: time.Second,
			capClients: 1, hashRounds: 1, modes: []app.Mode{app.ModePlain, app.ModeThrottle, app.ModePool}}
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // the capacity measurement serves nothing and fails
		_, err := runRound(ctx, cfg, 0)
		require.ErrorContains(t, err, "capacity")
		require.Len(t, started, 3)
		for _, s := range started {
			require.NotNil(t, s.cmd.ProcessState, "%s was not waited for", s.mode)
			require.ErrorIs(t, syscall.Kill(s.cmd.Process.Pid, 0), syscall.ESRCH, "%s is still running", s.mode)
		}
	})
	t.Run("a server that fails to start stops the ones started before it", func(t *testing.T) {
		var started []*server
		serverStarted = func(s *server) { started = append(started, s) }
		t.Cleanup(func() { serverStarted = func(*server) {} })
		_, err := startServers(config{workers: 1, queue: 1}, []app.Mode{app.ModePlain, "bogus"})
		require.ErrorContains(t, err, "bogus")
		require.Len(t, started, 1)
		require.ErrorIs(t, syscall.Kill(started[0].cmd.Process.Pid, 0), syscall.ESRCH)
	})
}
