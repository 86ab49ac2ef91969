package benchmarks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no benchmark or test leaves a goroutine behind. ants
// starts a default pool when it is imported; IgnoreCurrent excludes it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}
