package proc

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/crewkit/crew/wire"
)

// readFrame reads one wire frame from br without losing bytes to a read
// that fails part way: a frame that fits br's buffer is only consumed once
// it is complete, so a read deadline can interrupt the wait and the next
// call picks up where this one stopped. A small frame's Body aliases br's
// buffer and is valid until the next read from br.
func readFrame(br *bufio.Reader, limit int) (wire.Frame, error) {
	h, err := br.Peek(wire.HeaderSize)
	if err != nil {
		if len(h) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return wire.Frame{}, err
	}
	n := int(binary.BigEndian.Uint32(h[0:4]))
	if n > limit {
		return wire.Frame{}, fmt.Errorf("%w: %d bytes, limit %d", wire.ErrFrameTooLarge, n, limit)
	}
	f := wire.Frame{Kind: h[4], ID: binary.BigEndian.Uint64(h[5:13])}
	total := wire.HeaderSize + n
	if total <= br.Size() {
		b, err := br.Peek(total)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return wire.Frame{}, err
		}
		f.Body = b[wire.HeaderSize:total:total]
		_, _ = br.Discard(total)
		return f, nil
	}
	_, _ = br.Discard(wire.HeaderSize)
	f.Body = make([]byte, n)
	if _, err := io.ReadFull(br, f.Body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		// Part of the body is gone: the stream cannot be resumed.
		return wire.Frame{}, fmt.Errorf("%w: %w", errTorn, err)
	}
	return f, nil
}

// errTorn marks a frame that was cut part way through a large body.
var errTorn = errors.New("frame cut short")
