package ipc_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/crewkit/crew/examples/cluster/ipc"
	"github.com/crewkit/crew/wire"
)

// FuzzConn feeds arbitrary bytes to a manager's end of a channel, as a
// child that writes garbage would: the Conn must end with an error or at
// EOF, never panic.
func FuzzConn(f *testing.F) {
	hello := wire.AppendFrame(nil, wire.Frame{Kind: 1, Body: []byte(`{"version":1,"pid":7}`)})
	f.Add(hello)
	f.Add(wire.AppendFrame(bytes.Clone(hello), wire.Frame{Kind: 3, ID: 1, Body: []byte(`{"ready":true,"pool":{"workers":2}}`)}))
	f.Add(wire.AppendFrame(bytes.Clone(hello), wire.Frame{Kind: 4, Body: []byte(`{"type":"x","data":[1,2]}`)}))
	f.Add(wire.AppendFrame(bytes.Clone(hello), wire.Frame{Kind: 3, ID: 1, Body: []byte(`{"ready":"yes"}`)}))
	f.Add(wire.AppendFrame(nil, wire.Frame{Kind: 1, Body: []byte(`{"version":9}`)}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		conn := ipc.NewConn(bytes.NewReader(b), io.Discard, func(ipc.Message) {})
		<-conn.Done()
		_ = conn.Close()
		_, _ = conn.Hello()
		_, _ = conn.Last()
	})
}
