package procpeers_test

import (
	"testing"

	"github.com/crewkit/crew/internal/pipebench"
	"github.com/crewkit/crew/proc"
)

// The hand-written peer: the parent writes a 4-byte length and an 8-byte
// int on one pipe, the child answers the square the same way on another.

// startPipe starts the "pipe" child: the hand-written baseline, in which
// the parent writes a 4-byte length and an 8-byte int on one pipe and the
// child answers the square the same way on another. It returns a function
// that sends it n and reads back its answer.
func startPipe(b *testing.B) (call func(int) int, stop func()) {
	return pipebench.Start(b, proc.Self("pipe")())
}
