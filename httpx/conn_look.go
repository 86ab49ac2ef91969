//go:build linux || darwin

package httpx

import (
	"errors"
	"syscall"
)

const canLook = true

// ended reports whether the peer of rc has closed or reset the connection,
// without reading anything or waiting.
func ended(rc syscall.RawConn) bool {
	var end bool
	err := rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		end = (n == 0 && err == nil) || errors.Is(err, syscall.ECONNRESET)
	})
	return err == nil && end
}
