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

// ReadyBody is a valid ready frame's body for codec.
func ReadyBody(codec string) []byte {
	return marshal(ready{Version: protocolVersion, Codec: codec, PID: os.Getpid()})
}
