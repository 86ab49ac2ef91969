package ipc

import "syscall"

// errBrokenPipe is a write to a pipe whose reader is gone.
var errBrokenPipe = syscall.EPIPE
