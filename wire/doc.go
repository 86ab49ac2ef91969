// Package wire is the one place where crew's out-of-process worker kinds
// meet the byte stream: length-prefixed frames, pluggable codecs, and pool
// errors that keep their kind across a process or network boundary.
//
// Process workers (package proc), the cluster manager's messaging and the
// remote module all use it, so a value, a frame or an error means the same
// thing on every rung of the isolation ladder.
//
// # Frames
//
// A frame is a 13-byte header (4-byte big-endian body length, 1-byte kind,
// 8-byte big-endian ID) followed by the body. [ReadFrame] refuses a body
// longer than its limit before allocating it, so a peer that writes garbage
// costs an error, not memory.
//
// # Codecs
//
// A [Codec] makes an [Encoder] and a [Decoder] for one ordered stream. [Gob]
// keeps its type information across frames, as encoding/gob does on a
// persistent connection, so a value's type is described once per stream;
// [JSON] encodes each frame on its own. A value the encoder cannot encode
// fails that value only: the stream stays usable.
//
// # Errors
//
// [FromError] turns an error into an [Error] that any codec can carry, and
// [Error.Err] turns it back into one that [errors.Is] and [errors.As] test
// as the original: a [*pool.PanicError], [pool.ErrTimeout],
// [pool.ErrPoolFailed], [pool.ErrClosed], [pool.ErrQueueFull], [pool.ErrShed],
// [context.Canceled] and [context.DeadlineExceeded] keep their kind; other
// errors keep their message.
package wire
