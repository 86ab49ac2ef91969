package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/crewkit/crew/wire"
	"github.com/stretchr/testify/require"
)

func TestFrames(t *testing.T) {
	t.Run("frames come back as written, in order", func(t *testing.T) {
		var buf bytes.Buffer
		in := []wire.Frame{
			{Kind: 1, ID: 7, Body: []byte("hello")},
			{Kind: 2, ID: 1 << 40},
			{Kind: 3, ID: 9, Body: bytes.Repeat([]byte("x"), 10000)},
		}
		for _, f := range in {
			require.NoError(t, wire.WriteFrame(&buf, f, 0))
		}
		for _, want := range in {
			got, err := wire.ReadFrame(&buf, 0)
			require.NoError(t, err)
			require.Equal(t, want.Kind, got.Kind)
			require.Equal(t, want.ID, got.ID)
			require.Equal(t, len(want.Body), len(got.Body))
			require.True(t, bytes.Equal(want.Body, got.Body))
		}
		_, err := wire.ReadFrame(&buf, 0)
		require.ErrorIs(t, err, io.EOF)
	})
	t.Run("AppendFrame writes what WriteFrame writes", func(t *testing.T) {
		var buf bytes.Buffer
		f := wire.Frame{Kind: 4, ID: 2, Body: []byte("body")}
		require.NoError(t, wire.WriteFrame(&buf, f, 0))
		require.Equal(t, buf.Bytes(), wire.AppendFrame(nil, f))
	})
	t.Run("a body over the limit is refused before it is read", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, wire.WriteFrame(&buf, wire.Frame{Body: make([]byte, 100)}, 0))
		_, err := wire.ReadFrame(&buf, 99)
		require.ErrorIs(t, err, wire.ErrFrameTooLarge)
		require.Equal(t, 100, buf.Len(), "the body stays unread")
		err = wire.WriteFrame(io.Discard, wire.Frame{Body: make([]byte, 100)}, 99)
		require.ErrorIs(t, err, wire.ErrFrameTooLarge)
	})
	t.Run("a stream cut inside a frame is an unexpected EOF", func(t *testing.T) {
		b := wire.AppendFrame(nil, wire.Frame{Kind: 1, Body: []byte("abcdef")})
		for cut := 1; cut < len(b); cut++ {
			_, err := wire.ReadFrame(bytes.NewReader(b[:cut]), 0)
			require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "cut at %d: %v", cut, err)
		}
	})
}

// FuzzReadFrame feeds arbitrary bytes to the frame reader: it must return a
// frame or an error, never panic, and never hold a body over its limit.
func FuzzReadFrame(f *testing.F) {
	f.Add(wire.AppendFrame(nil, wire.Frame{Kind: 1, ID: 2, Body: []byte("x")}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			fr, err := wire.ReadFrame(r, 1024)
			if err != nil {
				return
			}
			if len(fr.Body) > 1024 {
				t.Fatalf("body of %d bytes passed a 1024-byte limit", len(fr.Body))
			}
			again := wire.AppendFrame(nil, fr)
			back, err := wire.ReadFrame(bytes.NewReader(again), 1024)
			if err != nil || back.Kind != fr.Kind || back.ID != fr.ID || !bytes.Equal(back.Body, fr.Body) {
				t.Fatalf("frame did not survive a round trip: %v", err)
			}
		}
	})
}
