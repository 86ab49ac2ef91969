package main

import "syscall"

// sysProcAttr asks the kernel to kill a member if this process dies first,
// so no member outlives the example even when it is killed itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
