package pool

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// crashChild is the environment variable that makes this test binary act as
// the child of TestCrashOnPanicCrashesTheProcess: it names the path to take.
const crashChild = "CREW_CRASH_CHILD"

func crashOnPurpose() { panic("boom") }

type crashWorker struct{}

func (crashWorker) Handle(_ context.Context, n int) (int, error) {
	if n < 0 {
		crashOnPurpose()
	}
	return n, nil
}

// runCrashChild is the child's side: a CrashOnPanic pool whose task
// panics on the path named by mode. It prints RESOLVED if the task's caller
// ever hears back, which it must not: the process must die first.
func runCrashChild(mode string) {
	opts := Options{MinWorkers: 1, MaxWorkers: 1, CrashOnPanic: true, NoInline: mode != "inline"}
	p, err := New(func(context.Context, WorkerInfo) (Worker[int, int], error) { return crashWorker{}, nil }, opts)
	if err != nil {
		panic(err)
	}
	if mode != "long" { // the long path is a young pool's: every task is timed
		makeWarm(p)
		if _, err := p.Run(context.Background(), 0); err != nil { // spends Seq 0, which is timed
			panic(err)
		}
	}
	_, err = p.Run(context.Background(), -1)
	fmt.Println("RESOLVED:", err)
	select {}
}

// TestCrashOnPanicCrashesTheProcess checks the opt-out of invariant 4: with
// CrashOnPanic a panic in Handle crashes the process, with the panicking
// function on the stack, on every path, and nobody hears of the task first.
func TestCrashOnPanicCrashesTheProcess(t *testing.T) {
	if mode := os.Getenv(crashChild); mode != "" {
		runCrashChild(mode)
		return
	}
	for _, mode := range []string{"short", "long", "inline"} {
		t.Run(mode, func(t *testing.T) {
			// The deadline only guards against a child that never dies.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashOnPanicCrashesTheProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashChild+"="+mode)
			out, err := cmd.CombinedOutput()
			require.NoError(t, ctx.Err(), "the child did not crash:\n%s", out)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the child must exit with an error:\n%s", out)
			require.Contains(t, string(out), "panic: boom")
			require.Contains(t, string(out), "crashOnPurpose", "the crash shows where Handle panicked")
			require.NotContains(t, string(out), "RESOLVED", "the task's caller heard back before the crash")
			require.NotContains(t, string(out), "Goexit")
		})
	}
}
