package wire

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
)

// Codec makes the encoder and decoder for one ordered stream. A Codec is
// safe for concurrent use; the Encoder and Decoder it makes are not.
type Codec interface {
	// Name identifies the codec in a handshake: both ends must agree.
	Name() string
	// NewEncoder returns an encoder for one stream's outgoing frames.
	NewEncoder() Encoder
	// NewDecoder returns a decoder for one stream's incoming frames, in
	// the order the peer's encoder produced them.
	NewDecoder() Decoder
}

// Encoder turns values into frame bodies.
type Encoder interface {
	// Encode returns v's encoding. The slice is valid until the next call.
	// After an error the encoder is still usable and v is not sent.
	Encode(v any) ([]byte, error)
}

// Decoder turns frame bodies into values.
type Decoder interface {
	// Decode decodes body into the value v points to.
	Decode(body []byte, v any) error
}

// Gob is the default codec: encoding/gob on a persistent stream, so each
// type is described once per stream. Values held in interface fields need
// gob.Register, as encoding/gob requires.
var Gob Codec = gobCodec{}

// JSON encodes each frame with encoding/json on its own: slower and larger
// than Gob, readable on the wire, and usable from other languages.
var JSON Codec = jsonCodec{}

// ByName returns the built-in codec with that name: "gob" or "json".
func ByName(name string) (Codec, error) {
	switch name {
	case "gob":
		return Gob, nil
	case "json":
		return JSON, nil
	}
	return nil, fmt.Errorf("wire: unknown codec %q (want gob or json)", name)
}

type gobCodec struct{}

func (gobCodec) Name() string { return "gob" }

func (gobCodec) NewEncoder() Encoder {
	e := &gobEncoder{}
	e.enc = gob.NewEncoder(&e.buf)
	return e
}

func (gobCodec) NewDecoder() Decoder {
	d := &gobDecoder{}
	d.dec = gob.NewDecoder(&d.r)
	return d
}

// gobEncoder keeps one gob.Encoder writing into buf. When encoding a value
// fails, the type descriptions gob already wrote for it stay in buf (gob has
// marked them sent) and go out in front of the next value, so the peer's
// decoder never meets a type it was not told about.
type gobEncoder struct {
	buf     bytes.Buffer
	enc     *gob.Encoder
	pending bool // buf holds descriptions from a failed Encode
}

func (e *gobEncoder) Encode(v any) ([]byte, error) {
	if !e.pending {
		e.buf.Reset()
	}
	if err := e.enc.Encode(v); err != nil {
		e.pending = true
		return nil, fmt.Errorf("wire: gob: %w", err)
	}
	e.pending = false
	return e.buf.Bytes(), nil
}

type gobDecoder struct {
	r   bytes.Reader
	dec *gob.Decoder
}

func (d *gobDecoder) Decode(body []byte, v any) error {
	d.r.Reset(body)
	if err := d.dec.Decode(v); err != nil {
		return fmt.Errorf("wire: gob: %w", err)
	}
	if d.r.Len() != 0 {
		return fmt.Errorf("wire: gob: %d bytes after the value", d.r.Len())
	}
	return nil
}

type jsonCodec struct{}

func (jsonCodec) Name() string        { return "json" }
func (jsonCodec) NewEncoder() Encoder { return &jsonEncoder{} }
func (jsonCodec) NewDecoder() Decoder { return jsonDecoder{} }

type jsonEncoder struct{ buf bytes.Buffer }

func (e *jsonEncoder) Encode(v any) ([]byte, error) {
	e.buf.Reset()
	if err := json.NewEncoder(&e.buf).Encode(v); err != nil {
		return nil, fmt.Errorf("wire: json: %w", err)
	}
	return e.buf.Bytes(), nil
}

type jsonDecoder struct{}

func (jsonDecoder) Decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("wire: json: %w", err)
	}
	return nil
}

// Codecs returns the built-in codecs.
func Codecs() []Codec { return []Codec{Gob, JSON} }
