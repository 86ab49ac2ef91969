package messaging

import "sync/atomic"

// portState guards a port in channel mode (after C). It tracks, in one
// word, whether the port is closed, how many senders are inside Send or
// TrySend, and how many messages were sent, so that a send costs two atomic
// operations: enter, and leave that also counts it.
//
//	bit 63      closed
//	bits 24-62  messages sent since the last fold into base
//	bits 0-23   senders inside (16M; each holds a goroutine)
//
// Close sets the closed bit and waits for the senders inside to leave before
// it closes the data channel, so no send can meet a closed channel.
type portState struct {
	word atomic.Uint64
	base atomic.Uint64 // sent messages folded out of word
}

const (
	closedBit  = 1 << 63
	sentShift  = 24
	senderMask = 1<<sentShift - 1
	sentMask   = 1<<(63-sentShift) - 1
	oneSent    = 1 << sentShift
	foldAt     = 1 << 37 // well below sentMask, so the field never overflows
)

// enter registers a sender and reports whether the port is open. A sender
// that finds it closed must still leave.
func (s *portState) enter() bool { return s.word.Add(1)&closedBit == 0 }

// leave unregisters a sender, counting a sent message if sent is true. It
// reports whether the port is closed and this was the last sender inside.
func (s *portState) leave(sent bool) bool {
	delta := ^uint64(0) // -1
	if sent {
		delta = oneSent - 1
	}
	w := s.word.Add(delta)
	if sent && (w>>sentShift)&sentMask == foldAt {
		s.fold()
	}
	return w&closedBit != 0 && w&senderMask == 0
}

// fold moves foldAt sent messages from word to base. Only the sender whose
// leave made the field reach foldAt folds, so each crossing folds once.
func (s *portState) fold() {
	s.base.Add(foldAt)
	s.word.Add(^uint64(foldAt<<sentShift - 1)) // -foldAt in the sent field
}

// close sets the closed bit and reports whether senders are still inside.
func (s *portState) close() bool { return s.word.Or(closedBit)&senderMask != 0 }

// sent returns the number of messages sent. The field in word passes foldAt
// only while a fold is moving it to base, so a read that sees it below foldAt
// with base unchanged around it is consistent.
func (s *portState) sent() uint64 {
	for {
		b := s.base.Load()
		w := s.word.Load()
		n := (w >> sentShift) & sentMask
		if n < foldAt && s.base.Load() == b {
			return b + n
		}
	}
}
