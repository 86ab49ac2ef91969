package procpeers_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/crewkit/crew/internal/pipebench"
	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

func TestMain(m *testing.M) {
	// A child started by a benchmark serves its role and exits.
	switch {
	case os.Getenv(handshake.MagicCookieKey) == handshake.MagicCookieValue:
		servePlugin()
		os.Exit(0)
	case proc.Role() == "square":
		err := proc.Serve(context.Background(), func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
			return pool.Func[int, int](square), nil
		}, proc.ServeOptions{})
		exit(err)
	case proc.Role() == "pipe":
		exit(pipebench.Serve())
	}
	goleak.VerifyTestMain(m)
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// square is the tiny task.
func square(_ context.Context, n int) (int, error) { return n * n, nil }
