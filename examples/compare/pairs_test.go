package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPairs(t *testing.T) {
	t.Run("the pair table has one row per round and the median ratio with its range", func(t *testing.T) {
		ss := setups(2, 4, 2)
		pools := pick(ss, []string{"pool", "proc"})
		rounds := []pairRound{
			{pool: pairPoint{goodput: 600, p99: 100 * time.Millisecond, server: 2300 * time.Microsecond},
				proc: pairPoint{goodput: 540, p99: 120 * time.Millisecond, server: 300 * time.Microsecond, workers: 2400 * time.Microsecond}},
			{pool: pairPoint{goodput: 500}, proc: pairPoint{goodput: 500}},
			{pool: pairPoint{goodput: 400}, proc: pairPoint{goodput: 200}},
		}
		var b strings.Builder
		writePairTable(&b, config{pairClients: 64, pairFor: 4 * time.Second, warmup: time.Second}, pools[0], pools[1], rounds)
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		require.Contains(t, lines[0], "3 rounds")
		require.Equal(t, "| 1 | 600 | 540 | 0.90x | 100ms / 120ms | 2300us | 300us + 2400us |", lines[4])
		require.Equal(t, "| 3 | 400 | 200 | 0.50x | 0s / 0s | 0us | 0us + 0us |", lines[6])
		require.Equal(t, "Process workers' goodput over goroutine workers': median 0.90x, range 0.50x to 1.00x.", lines[len(lines)-1])
	})
	t.Run("a process's CPU time is read from /proc and grows as it works", func(t *testing.T) {
		if _, err := os.Stat("/proc/self/stat"); err != nil {
			require.Zero(t, cpuTime(os.Getpid()), "no /proc: nothing to read")
			return
		}
		before := cpuTime(os.Getpid())
		deadline := time.Now().Add(10 * time.Second)
		for cpuTime(os.Getpid()) < before+5*clockTick {
			require.True(t, time.Now().Before(deadline), "CPU time stuck at %v", before)
			for i := 0; i < 1_000_000; i++ {
				spinSink += i
			}
		}
		require.Zero(t, cpuTime(0))
		require.Zero(t, cpuTime(1<<30), "no such process")
	})
}

// spinSink keeps the CPU-burning loop from being optimised away.
var spinSink int
