package proc_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/crewkit/crew/proc"
)

// upperBin is a separate worker binary built from testdata/upper, once per
// test binary.
var upperBin string

func TestMain(m *testing.M) {
	if role := proc.Role(); role != "" {
		os.Exit(serveRole(role)) // this process is a child started by a test
	}
	// Children built with -race would sleep a second at exit (the race
	// runtime's default), which every Close would wait for.
	_ = os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	dir, err := os.MkdirTemp("", "proc-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	upperBin = filepath.Join(dir, "upper")
	build := exec.Command("go", "build", "-o", upperBin, "./testdata/upper")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build testdata/upper:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}
