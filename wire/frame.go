package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the length of a frame's header: body length, kind and ID.
const HeaderSize = 13

// DefaultMaxFrame is the body size limit used when a limit of 0 is given:
// 64 MiB.
const DefaultMaxFrame = 64 << 20

// ErrFrameTooLarge is returned for a frame whose body exceeds the limit.
var ErrFrameTooLarge = errors.New("wire: frame too large")

// Frame is one message on a stream. Kind and ID mean what the protocol
// using the stream says; Body is a codec's output.
type Frame struct {
	// Kind says what the body holds.
	Kind byte
	// ID pairs a reply with its request; 0 when unused.
	ID uint64
	// Body is the payload.
	Body []byte
}

// WriteFrame writes f to w as one header and one body. It is not safe for
// concurrent use on the same writer; callers serialise writes.
func WriteFrame(w io.Writer, f Frame, limit int) error {
	if limit <= 0 {
		limit = DefaultMaxFrame
	}
	if len(f.Body) > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(f.Body), limit)
	}
	var h [HeaderSize]byte
	putHeader(h[:], f)
	if len(f.Body) <= 4096 {
		// One write for small frames: one syscall on an unbuffered pipe.
		buf := make([]byte, 0, HeaderSize+len(f.Body))
		buf = append(append(buf, h[:]...), f.Body...)
		_, err := w.Write(buf)
		return err
	}
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(f.Body)
	return err
}

// AppendFrame appends f's header and body to dst, for callers that batch
// frames into their own buffer.
func AppendFrame(dst []byte, f Frame) []byte {
	var h [HeaderSize]byte
	putHeader(h[:], f)
	return append(append(dst, h[:]...), f.Body...)
}

func putHeader(h []byte, f Frame) {
	binary.BigEndian.PutUint32(h[0:4], uint32(len(f.Body)))
	h[4] = f.Kind
	binary.BigEndian.PutUint64(h[5:13], f.ID)
}

// ReadFrame reads one frame from r. A body longer than limit (0 means
// DefaultMaxFrame) is refused with ErrFrameTooLarge before it is read. A
// stream that ends between frames returns io.EOF; one that ends inside a
// frame returns io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, limit int) (Frame, error) {
	if limit <= 0 {
		limit = DefaultMaxFrame
	}
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(h[0:4])
	if uint64(n) > uint64(limit) {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, limit)
	}
	f := Frame{Kind: h[4], ID: binary.BigEndian.Uint64(h[5:13])}
	if n > 0 {
		f.Body = make([]byte, n)
		if _, err := io.ReadFull(r, f.Body); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
	}
	return f, nil
}
