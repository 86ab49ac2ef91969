package proc

import (
	"os"
	"testing"

	"github.com/crewkit/crew/wire"
)

// FuzzReplies feeds arbitrary bytes to the parent's reply handling, as a
// child that writes garbage would: framing, the protocol's state checks and
// the decoding of every delivered answer must fail cleanly, never panic,
// and deliver at most one answer to the one task in flight.
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
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		// No process: kill does nothing. replies holds the handshake and
		// the one answer the protocol allows.
		c := &child{max: 1 << 20, repl: r, replies: make(chan wire.Frame, 2), broken: make(chan struct{}),
			reading: make(chan struct{}), warn: func(string, *child, ...any) {}}
		c.inflight.Store(1)
		go func() { _, _ = w.Write(data); _ = w.Close() }()
		c.read()
		_ = r.Close()
		if !c.isBroken() {
			t.Fatal("the reader returned with the child usable")
		}
		dec := wire.Gob.NewDecoder()
		var answers int
		for {
			select {
			case fr := <-c.replies:
				switch fr.Kind {
				case kindResult:
					answers++
					var out struct{ Text string }
					_ = dec.Decode(fr.Body, &out)
				case kindError, kindFatal:
					answers++
					var e wire.Error
					_ = dec.Decode(fr.Body, &e)
					_ = e.Err()
				}
				continue
			default:
			}
			break
		}
		if answers > 1 {
			t.Fatalf("%d answers delivered for one task", answers)
		}
	})
}
