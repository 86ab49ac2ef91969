//go:build !unix

package reuseport

import (
	"errors"
	"syscall"
)

// control fails: SO_REUSEPORT is a Unix socket option.
func control(_, _ string, _ syscall.RawConn) error {
	return errors.New("reuseport: SO_REUSEPORT is not supported on this system")
}
