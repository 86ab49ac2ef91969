package main

import "syscall"

// sysProcAttr asks the kernel to send a server child SIGTERM if this
// process dies first, so that not even a kill -9 leaves a server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
