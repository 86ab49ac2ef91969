package proc

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/crewkit/crew/wire"
)

// FuzzReplies feeds arbitrary bytes to the parent's reply handling, as a
// child that writes garbage would: the handshake's answer, then the
// answers to tasks 1, 2, ... Framing, the protocol's checks and the
// decoding of every accepted answer must fail cleanly, never panic, and
// accept exactly one answer per task, in order.
func FuzzReplies(f *testing.F) {
	enc := wire.Gob.NewEncoder()
	result, _ := enc.Encode(&struct{ Text string }{"ok"})
	ready := wire.AppendFrame(nil, wire.Frame{Kind: kindReady, Body: marshal(ready{Version: protocolVersion, Codec: "gob"})})
	f.Add(wire.AppendFrame(append([]byte(nil), ready...), wire.Frame{Kind: kindResult, ID: 1, Body: result}))
	f.Add(append(append([]byte(nil), ready...), "\x00\x00\x00\x05?garbage"...))
	f.Add(wire.AppendFrame(wire.AppendFrame(append([]byte(nil), ready...),
		wire.Frame{Kind: kindResult, ID: 1, Body: result}), wire.Frame{Kind: kindResult, ID: 1, Body: result}))
	f.Add(wire.AppendFrame(append([]byte(nil), ready...), wire.Frame{Kind: kindError, ID: 1, Body: []byte("\xff\x00")}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'O'})
	f.Fuzz(func(t *testing.T, data []byte) {
		// No process: kill does nothing.
		c := &child{max: 1 << 16, br: bufio.NewReaderSize(bytes.NewReader(data), 4096),
			broken: make(chan struct{}), warn: func(string, *child, ...any) {}}
		dec := wire.Gob.NewDecoder()
		for want := uint64(0); ; want++ {
			if want > 0 && c.stray() != nil {
				return // bytes before the task was sent: refused
			}
			fr, err := c.next(want)
			if err != nil {
				if !c.isBroken() && err != errGone {
					t.Fatalf("child usable after %v", err)
				}
				return
			}
			if want == 0 {
				if fr.Kind != kindReady && fr.Kind != kindRefuse {
					t.Fatalf("handshake frame of kind %q accepted", fr.Kind)
				}
				continue
			}
			if fr.ID != want {
				t.Fatalf("answer to %d accepted for task %d", fr.ID, want)
			}
			switch fr.Kind {
			case kindResult:
				var out struct{ Text string }
				_ = dec.Decode(fr.Body, &out)
			case kindError, kindFatal:
				var e wire.Error
				if dec.Decode(fr.Body, &e) == nil {
					_ = e.Err()
				}
			default:
				t.Fatalf("answer of kind %q accepted", fr.Kind)
			}
		}
	})
}
