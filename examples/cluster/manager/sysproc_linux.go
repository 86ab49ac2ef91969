package manager

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C in a
// terminal reaches only the manager, which stops the children in order, and
// asks the kernel to send the child SIGTERM if the manager dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
