// Package pipebench is the hand-written baseline of the process-worker
// benchmarks (target P8): a parent that writes a 4-byte length and an 8-byte
// int on one pipe, and a child that answers the int's square the same way
// on another. proc's benchmarks and the peer comparison in
// examples/benchmarks/procpeers both measure against it.
package pipebench

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"testing"
)

// Start starts cmd as the baseline's child, with the task pipe as its
// file descriptor 3 and the reply pipe as 4, and returns a function that
// sends it n and reads back its answer, and one that stops the child and
// waits for it. It fails b on any error.
func Start(b testing.TB, cmd *exec.Cmd) (call func(int) int, stop func()) {
	b.Helper()
	taskR, taskW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	replR, replW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{taskR, replW}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	taskR.Close()
	replW.Close()
	br := bufio.NewReader(replR)
	var out, in [12]byte
	call = func(n int) int {
		binary.BigEndian.PutUint32(out[:4], 8)
		binary.BigEndian.PutUint64(out[4:], uint64(n))
		if _, err := taskW.Write(out[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, in[:]); err != nil {
			b.Fatal(err)
		}
		return int(binary.BigEndian.Uint64(in[4:]))
	}
	stop = func() {
		taskW.Close()
		_ = cmd.Wait()
		replR.Close()
	}
	return call, stop
}

// Serve is the child: it answers each framed int read from file descriptor
// 3 with its square on file descriptor 4, until its input ends.
func Serve() error {
	r := bufio.NewReader(os.NewFile(3, "tasks"))
	w := os.NewFile(4, "replies")
	var buf [12]byte
	for {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return nil
		}
		n := binary.BigEndian.Uint64(buf[4:])
		binary.BigEndian.PutUint64(buf[4:], n*n)
		if _, err := w.Write(buf[:]); err != nil {
			return err
		}
	}
}
