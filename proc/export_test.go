package proc

import "os"

// Frame kinds and bodies for the tests' misbehaving children, which speak
// the protocol by hand.
const (
	KindHello  = kindHello
	KindTask   = kindTask
	KindReady  = kindReady
	KindResult = kindResult
	TaskFD     = taskFD
	ReplyFD    = replyFD
)

// ReadyBody is a ready frame's body for version and codec.
func ReadyBody(version int, codec string) []byte {
	return marshal(ready{Version: version, Codec: codec, PID: os.Getpid()})
}

// ProtocolVersion is the version the handshake expects.
const ProtocolVersion = protocolVersion
