//go:build !linux

package main

import "syscall"

// sysProcAttr has nothing to add off Linux: a member also exits when its
// stdin, a pipe from this process, closes.
func sysProcAttr() *syscall.SysProcAttr { return nil }
