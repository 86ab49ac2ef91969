//go:build !linux

package manager

import "syscall"

// sysProcAttr puts a child in its own process group, so that a Ctrl-C in a
// terminal reaches only the manager, which stops the children in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
