package ring

import (
	"bytes"
	"testing"
)

// FuzzRing drives one ring from a single goroutine with a byte-coded sequence
// of operations and compares it, after every step, with a slice model.
//
// data[0] picks the capacity (1..16); every following byte is one operation,
// selected by b%16:
//
//	0-4   TryPush(next)
//	5-9   TryPop()
//	10    Close()
//	11    Push(next, nil) when it cannot wait, else Push(next, closed cancel)
//	12    Pop(nil) when it cannot wait, else Pop(closed cancel)
//	13    Push(next, closed cancel)
//	14    Pop(closed cancel)
//	15    observers only (Cap, Closed, Done)
//
// Pushed values are a running counter, so every value is distinct and a
// refused value can never be mistaken for an accepted one.
func FuzzRing(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{0, 0, 5, 0, 5, 5})                                   // cap 1: push, pop, push, pop, pop empty
	f.Add([]byte{2, 0, 1, 2, 3, 5, 0, 5, 5, 5, 5})                    // cap 3: fill, Full, wrap
	f.Add([]byte{6, 0, 0, 0, 10, 0, 11, 13, 5, 12, 14, 5, 10, 15})    // close with items, drain
	f.Add([]byte{15, 11, 11, 11, 12, 12, 13, 14, 13, 14, 12, 12, 12}) // cap 16, waiting variants
	f.Add([]byte{1, 13, 13, 13, 14, 14, 14, 10, 13, 14, 11, 12})
	f.Add(append([]byte{4}, bytes.Repeat([]byte{0, 1, 5, 0, 6}, 40)...)) // many laps
	f.Add(append([]byte{6}, bytes.Repeat([]byte{0, 5}, 100)...))

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		capacity := int(data[0]%16) + 1
		r := New[int](capacity)
		canceled := make(chan struct{})
		close(canceled)

		var model []int
		closed := false
		next := 0
		var pushed, popped uint64

		// expectPush checks the status of a push of v given the model and
		// updates the model. cancelClosed says whether the push was given a
		// closed cancel channel (and so may not wait).
		expectPush := func(step int, name string, v int, st Status, cancelClosed, try bool) {
			switch {
			case closed:
				// A closed ring refuses every push. With an already closed
				// cancel channel too, the API does not rank the two reasons.
				if st != Closed && !(cancelClosed && st == Canceled) {
					t.Fatalf("step %d: %s(%d) on a closed ring = %v, want Closed", step, name, v, st)
				}
			case len(model) < capacity:
				if st != OK {
					t.Fatalf("step %d: %s(%d) with %d/%d buffered = %v, want OK", step, name, v, len(model), capacity, st)
				}
				model = append(model, v)
				pushed++
			default:
				want := Canceled
				if try {
					want = Full
				}
				if st != want {
					t.Fatalf("step %d: %s(%d) on a full ring = %v, want %v", step, name, v, st, want)
				}
			}
		}
		expectPop := func(step int, name string, v int, st Status, cancelClosed, try bool) {
			switch {
			case len(model) > 0:
				if st != OK || v != model[0] {
					t.Fatalf("step %d: %s = %d, %v; want %d, OK", step, name, v, st, model[0])
				}
				model = model[1:]
				popped++
			case closed:
				if st != Closed && !(cancelClosed && st == Canceled) {
					t.Fatalf("step %d: %s on a closed drained ring = %d, %v; want Closed", step, name, v, st)
				}
				if v != 0 {
					t.Fatalf("step %d: %s returned %d with status %v, want the zero value", step, name, v, st)
				}
			default:
				want := Canceled
				if try {
					want = Empty
				}
				if st != want || v != 0 {
					t.Fatalf("step %d: %s on an empty ring = %d, %v; want 0, %v", step, name, v, st, want)
				}
			}
		}

		for step, b := range data[1:] {
			switch op := b % 16; {
			case op <= 4:
				st := r.TryPush(next)
				expectPush(step, "TryPush", next, st, false, true)
				next++
			case op <= 9:
				v, st := r.TryPop()
				expectPop(step, "TryPop", v, st, false, true)
			case op == 10:
				if got := r.Close(); got != !closed {
					t.Fatalf("step %d: Close() = %v on a ring that was closed=%v", step, got, closed)
				}
				closed = true
			case op == 11:
				if closed || len(model) < capacity {
					st := r.Push(next, nil)
					expectPush(step, "Push(nil)", next, st, false, false)
				} else {
					st := r.Push(next, canceled)
					expectPush(step, "Push(canceled)", next, st, true, false)
				}
				next++
			case op == 12:
				if closed || len(model) > 0 {
					v, st := r.Pop(nil)
					expectPop(step, "Pop(nil)", v, st, false, false)
				} else {
					v, st := r.Pop(canceled)
					expectPop(step, "Pop(canceled)", v, st, true, false)
				}
			case op == 13:
				st := r.Push(next, canceled)
				expectPush(step, "Push(canceled)", next, st, true, false)
				next++
			case op == 14:
				v, st := r.Pop(canceled)
				expectPop(step, "Pop(canceled)", v, st, true, false)
			default:
				if r.Cap() != capacity {
					t.Fatalf("step %d: Cap = %d, want %d", step, r.Cap(), capacity)
				}
				select {
				case <-r.Done():
					if !closed {
						t.Fatalf("step %d: Done is closed but the ring was never closed", step)
					}
				default:
					if closed {
						t.Fatalf("step %d: Done is not closed after Close", step)
					}
				}
			}

			if r.Len() != len(model) {
				t.Fatalf("step %d (op %d): Len = %d, want %d", step, b%16, r.Len(), len(model))
			}
			if r.Pushed() != pushed || r.Popped() != popped {
				t.Fatalf("step %d (op %d): Pushed, Popped = %d, %d; want %d, %d", step, b%16, r.Pushed(), r.Popped(), pushed, popped)
			}
			if r.Closed() != closed {
				t.Fatalf("step %d (op %d): Closed() = %v, want %v", step, b%16, r.Closed(), closed)
			}
		}

		// Whatever state the sequence left, closing and draining returns
		// exactly the model's contents.
		r.Close()
		for _, want := range model {
			v, st := r.TryPop()
			if st != OK || v != want {
				t.Fatalf("final drain: TryPop = %d, %v; want %d, OK", v, st, want)
			}
		}
		if v, st := r.TryPop(); st != Closed || v != 0 {
			t.Fatalf("final drain: TryPop = %d, %v; want 0, Closed", v, st)
		}
	})
}
