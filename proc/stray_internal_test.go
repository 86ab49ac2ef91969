package proc

import (
	"bufio"
	"io"
	"testing"

	"github.com/crewkit/crew/wire"
)

// chunky returns its chunks one Read at a time, as a pipe returns what the
// writer's separate write calls put there so far.
type chunky struct{ chunks [][]byte }

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	if len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func TestAPostCutBetweenTwoReadsIsNotStray(t *testing.T) {
	enc := wire.Gob.NewEncoder()
	result, _ := enc.Encode(&struct{ Text string }{"ok"})
	ready := wire.AppendFrame(nil, wire.Frame{Kind: kindReady, Body: marshal(ready{Version: protocolVersion, Codec: "gob"})})
	post, _ := wire.Gob.NewEncoder().Encode(&envelope{V: string(make([]byte, 8000))})
	pf := wire.AppendFrame(nil, wire.Frame{Kind: kindPost, Body: post})
	// The child answers task 1, then a background goroutine posts > 4096
	// bytes: WriteFrame writes the header, then the body, in two writes.
	first := append(wire.AppendFrame(append([]byte(nil), ready...), wire.Frame{Kind: kindResult, ID: 1, Body: result}), pf[:wire.HeaderSize]...)
	r := &chunky{chunks: [][]byte{first, pf[wire.HeaderSize:]}}
	var posted int
	c := &child{max: 1 << 20, br: bufio.NewReaderSize(r, 64<<10), broken: make(chan struct{}),
		warn: func(string, *child, ...any) {}, codec: wire.Gob, post: func(any) error { posted++; return nil }}
	if _, err := c.next(0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.next(1); err != nil {
		t.Fatal(err)
	}
	if err := c.stray(); err != nil {
		t.Fatalf("a legitimate post between tasks is taken for a protocol violation: %v", err)
	}
}
