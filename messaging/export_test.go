package messaging

// SentAfter starts a port's sent counter at start, records sends more
// messages, and returns what Stats would report, so that tests can cross
// the counter's internal fold point without sending 2^37 messages.
func SentAfter(start uint64, sends int) (sent uint64, field uint64) {
	var s portState
	s.word.Store(start << sentShift)
	for range sends {
		s.enter()
		s.leave(true)
	}
	return s.sent(), (s.word.Load() >> sentShift) & sentMask
}

// FoldAt is the value at which the sent counter folds.
const FoldAt = foldAt
