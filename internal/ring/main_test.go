package ring

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test or benchmark leaves a goroutine
// behind, e.g. a Push or Pop that was never woken.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
