package kernel

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunIsDeterministicAndSeedDependent(t *testing.T) {
	require.Equal(t, Run(42), Run(42))
	require.NotEqual(t, Run(1), Run(2))
}
