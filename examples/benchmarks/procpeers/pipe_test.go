package procpeers_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/crewkit/crew/proc"
)

// The hand-written peer: the parent writes a 4-byte length and an 8-byte
// int on one pipe, the child answers the square the same way on another.

// startPipe starts the "pipe" child and returns a function that sends it n
// and reads back its answer.
func startPipe(b *testing.B) (call func(int) int, stop func()) {
	cmd := proc.Self("pipe")()
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

// servePipe answers each framed int with its square until its input ends.
func servePipe() error {
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
