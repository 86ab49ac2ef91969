package app_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/crewkit/crew/examples/server/app"
	"github.com/crewkit/crew/proc"
	"go.uber.org/goleak"
)

// TestMain serves a process worker when ModeProc's pool starts this test
// binary again in app.WorkerRole, and runs the tests otherwise.
func TestMain(m *testing.M) {
	if proc.Role() == app.WorkerRole {
		if err := app.ServeWorker(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
