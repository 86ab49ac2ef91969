package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the test binary as a server child when startServer
// re-executes it with -serve, as it does the loadtest command.
func TestMain(m *testing.M) {
	if len(os.Args) > 6 && os.Args[1] == "-serve" {
		if err := serveChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
