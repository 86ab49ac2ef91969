package remote

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/crewkit/crew/wire"
)

// A payload on the wire is one codec frame in front of which the sender
// puts what a decoder must have seen first.
//
// A stream codec such as gob describes each type once per stream, and
// building a decoder for a fresh description costs more than a loopback
// round trip. So a sender keeps one encoder per stream and primes it by
// encoding its type's zero value first; the bytes that took (the prime)
// travel in front of every later value, which then carries no type
// description. A receiver keeps decoders already fed that prime and decodes
// only the value. A codec whose second encoding of the zero value equals its
// first describes no types, and sends no prime.
//
//	payload = flag (1 byte) [uvarint len(prime) prime] value
const (
	plain  = 0 // value alone: a stateless codec, or a self-contained frame
	primed = 1 // prime, then a value that needs it
)

// sender encodes values of one type on one stream. It is not safe for
// concurrent use.
type sender[T any] struct {
	codec wire.Codec
	enc   wire.Encoder
	head  []byte // flag and prime, in front of every value
	buf   []byte
}

func newSender[T any](codec wire.Codec) *sender[T] {
	s := &sender[T]{codec: codec}
	s.reset()
	return s
}

// reset starts a new stream and primes it.
func (s *sender[T]) reset() {
	var zero T
	s.enc = s.codec.NewEncoder()
	first, err := s.enc.Encode(zero)
	if err != nil {
		s.head = []byte{plain}
		return
	}
	prime := bytes.Clone(first)
	second, err := s.enc.Encode(zero)
	if err != nil || bytes.Equal(prime, second) {
		s.head = []byte{plain}
		return
	}
	s.head = binary.AppendUvarint([]byte{primed}, uint64(len(prime)))
	s.head = append(s.head, prime...)
}

// encode returns prefix followed by v's payload, valid until the next call.
func (s *sender[T]) encode(prefix []byte, v T) ([]byte, error) {
	body, err := s.enc.Encode(v)
	if err != nil {
		return nil, err
	}
	if s.head[0] == primed && !valueOnly(body) {
		// v needed descriptions the prime lacks (a new concrete type in
		// an interface field): send it self-contained and prime anew.
		body, err = s.codec.NewEncoder().Encode(v)
		s.reset()
		if err != nil {
			return nil, err
		}
		s.buf = append(append(append(s.buf[:0], prefix...), plain), body...)
		return s.buf, nil
	}
	s.buf = append(append(append(s.buf[:0], prefix...), s.head...), body...)
	return s.buf, nil
}

// valueOnly reports whether a gob frame is exactly one value message: a
// length, then a non-negative type ID (descriptions have negative IDs).
func valueOnly(b []byte) bool {
	n, k := gobUint(b)
	if k == 0 || uint64(len(b)-k) != n {
		return false
	}
	id, k2 := gobUint(b[k:])
	return k2 > 0 && id&1 == 0 // gob's ints: the low bit is the sign
}

// gobUint decodes a gob unsigned integer: one byte below 128, else a
// negated byte count followed by big-endian bytes.
func gobUint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := int(-int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0
	}
	var v uint64
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n
}

// receiver decodes payloads, keeping primed decoders for reuse. It is safe
// for concurrent use.
type receiver struct {
	codec wire.Codec
	mu    sync.Mutex
	idle  map[string][]wire.Decoder // by prime
}

func newReceiver(codec wire.Codec) *receiver {
	return &receiver{codec: codec, idle: make(map[string][]wire.Decoder)}
}

// maxIdle bounds the decoders kept per prime.
const maxIdle = 64

// decode decodes payload into v, which must be a pointer to T; zero must
// point to a scratch T for priming.
func decode[T any](r *receiver, payload []byte, v *T) error {
	if len(payload) == 0 {
		return fmt.Errorf("wire: empty payload")
	}
	if payload[0] == plain {
		body := payload[1:]
		if !valueOnly(body) { // self-contained: describes its types
			return r.codec.NewDecoder().Decode(body, v)
		}
		dec, _ := takeDecoder[T](r, nil)
		err := dec.Decode(body, v)
		if err == nil {
			r.put(nil, dec)
		}
		return err
	}
	n, k := binary.Uvarint(payload[1:])
	if k <= 0 || uint64(len(payload)-1-k) < n {
		return fmt.Errorf("wire: bad prime")
	}
	prime, body := payload[1+k:1+k+int(n)], payload[1+k+int(n):]
	dec, err := takeDecoder[T](r, prime)
	if err != nil {
		return err
	}
	err = dec.Decode(body, v)
	if err == nil {
		r.put(prime, dec)
	}
	return err
}

func takeDecoder[T any](r *receiver, prime []byte) (wire.Decoder, error) {
	r.mu.Lock()
	if ds := r.idle[string(prime)]; len(ds) > 0 {
		d := ds[len(ds)-1]
		r.idle[string(prime)] = ds[:len(ds)-1]
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()
	d := r.codec.NewDecoder()
	if len(prime) == 0 {
		return d, nil
	}
	var zero T
	if err := d.Decode(prime, &zero); err != nil {
		return nil, err
	}
	return d, nil
}

func (r *receiver) put(prime []byte, d wire.Decoder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds, ok := r.idle[string(prime)]
	if !ok && len(r.idle) >= maxIdle {
		return // a peer sending many primes gets no cache
	}
	if len(ds) < maxIdle {
		r.idle[string(prime)] = append(ds, d)
	}
}
