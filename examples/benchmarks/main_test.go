package benchmarks_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no benchmark or test leaves a goroutine behind. ants
// starts a default pool when it is imported; IgnoreCurrent excludes it.
//
// Started with sleepChildEnv set, the test binary is instead a child of
// BenchmarkP7Sleep: it runs one pool's P7 workload and exits, so that the
// parent reads that pool's own CPU time and peak RSS from the child's
// rusage.
func TestMain(m *testing.M) {
	if name := os.Getenv(sleepChildEnv); name != "" {
		os.Exit(sleepChild(name))
	}
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
