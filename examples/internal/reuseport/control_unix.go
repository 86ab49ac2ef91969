//go:build unix

package reuseport

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// control sets the socket options on the socket before it is bound.
func control(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = errors.Join(
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1),
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1),
		)
	})
	return errors.Join(err, serr)
}
