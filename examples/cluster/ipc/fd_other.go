//go:build !unix

package ipc

import (
	"errors"
	"os"
)

// openFDs fails: inherited descriptors are a Unix convention.
func openFDs(int, int) (r, w *os.File, err error) {
	return nil, nil, errors.New("ipc: " + EnvVar + " is supported on Unix systems only")
}
