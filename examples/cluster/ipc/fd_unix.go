//go:build unix

package ipc

import (
	"os"
	"syscall"
)

// openFDs returns the inherited descriptors as pollable files, so that
// Close interrupts a read and writes can have deadlines, and keeps them
// from the process's own children.
func openFDs(rfd, wfd int) (r, w *os.File, err error) {
	for _, fd := range []int{rfd, wfd} {
		syscall.CloseOnExec(fd)
		if err := syscall.SetNonblock(fd, true); err != nil {
			return nil, nil, &os.SyscallError{Syscall: "ipc: set nonblocking", Err: err}
		}
	}
	return os.NewFile(uintptr(rfd), "ipc-in"), os.NewFile(uintptr(wfd), "ipc-out"), nil
}
