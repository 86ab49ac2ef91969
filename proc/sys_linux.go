package proc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"unsafe"
)

// dieWithParent makes the kernel kill the child when the parent's thread
// that started it exits, in case the child misses the pipe's EOF.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// limitData sets the hard and soft RLIMIT_DATA of process pid.
func limitData(pid int, bytes int64) error {
	lim := syscall.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_DATA,
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("proc: prlimit RLIMIT_DATA on child %d: %w", pid, errno)
	}
	return nil
}

// rssMeter reads a process's resident memory from /proc/PID/statm, kept
// open so that each reading is one pread.
type rssMeter struct {
	f    *os.File
	page int64
	buf  [128]byte
}

func openRSS(pid int) (*rssMeter, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return nil, err
	}
	return &rssMeter{f: f, page: int64(os.Getpagesize())}, nil
}

// read returns the resident set size in bytes.
func (m *rssMeter) read() (int64, error) {
	n, err := m.f.ReadAt(m.buf[:], 0)
	if n == 0 && err != nil {
		return 0, err
	}
	fields := bytes.Fields(m.buf[:n])
	if len(fields) < 2 {
		return 0, fmt.Errorf("proc: statm: %q", m.buf[:n])
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc: statm: %w", err)
	}
	return pages * m.page, nil
}

func (m *rssMeter) close() { _ = m.f.Close() }
