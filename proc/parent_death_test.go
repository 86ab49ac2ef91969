//go:build linux

package proc_test

import (
	"bufio"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/proc"
)

func TestParentDeath(t *testing.T) {
	t.Run("a child dies when its parent is killed", func(t *testing.T) {
		middle := proc.Self("middle")()
		stdout, err := middle.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, middle.Start())
		line, err := bufio.NewReader(stdout).ReadString('\n')
		require.NoError(t, err)
		grandchild, err := strconv.Atoi(strings.TrimSpace(line))
		require.NoError(t, err)
		exited := pidfd(t, grandchild)

		require.NoError(t, middle.Process.Kill())
		require.Error(t, middle.Wait())
		require.NoError(t, exited(waitLimit), "the child outlived its parent")
		requireNoChildren(t)
	})
}

// pidfd opens a pidfd for pid, which need not be a child of this process,
// and returns a function that waits up to a limit for the process to exit.
func pidfd(t *testing.T, pid int) func(time.Duration) error {
	t.Helper()
	const sysPidfdOpen = 434 // the same on every Linux architecture
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	require.Zero(t, errno, "pidfd_open")
	t.Cleanup(func() { _ = syscall.Close(int(fd)) })
	return func(limit time.Duration) error {
		end := time.Now().Add(limit)
		for {
			var set syscall.FdSet
			set.Bits[fd/64] |= 1 << (fd % 64)
			tv := syscall.NsecToTimeval(time.Until(end).Nanoseconds())
			n, err := syscall.Select(int(fd)+1, &set, nil, nil, &tv)
			switch {
			case err == syscall.EINTR && time.Now().Before(end):
				continue // the Go runtime's preemption signal
			case err == nil && n == 0:
				return syscall.ETIMEDOUT
			}
			return err
		}
	}
}
