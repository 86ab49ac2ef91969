package ring

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// startAt returns a ring whose head and tail start at the first position of
// the lap that holds pos, as if that many items had passed through it.
func startAt[T any](capacity int, pos uint64) *Ring[T] {
	r := New[T](capacity)
	start := pos &^ (r.oneLap - 1)
	r.head.Store(start)
	r.tail.Store(start)
	for i := range r.buf {
		r.buf[i].stamp.Store(uint64(turnOf(start + uint64(i))))
	}
	return r
}

func TestTurnsWrapAround(t *testing.T) {
	// The turns in the stamps are 31 bits; positions are 64. Cross the
	// 2^31 boundary of the turns, and far later ones, with exact FIFO.
	for _, capacity := range []int{1, 3, 8, 1000} {
		for _, at := range []uint64{1<<31 - 5000, 1<<32 - 5000, 7<<32 - 3} {
			r := startAt[int](capacity, at)
			next, want := 0, 0
			for round := range 3000 {
				for range round%capacity + 1 {
					if r.TryPushTag(next, uint32(next)*7) != OK {
						break
					}
					next++
				}
				require.LessOrEqual(t, r.Len(), capacity)
				for range round%3 + 1 {
					v, tag, st := r.TryPopTag()
					if st == Empty {
						break
					}
					require.Equal(t, OK, st)
					require.Equal(t, want, v, "capacity %d from %#x", capacity, at)
					require.Equal(t, uint32(want)*7, tag)
					want++
				}
			}
			require.Equal(t, uint64(next-want), uint64(r.Len()))
		}
	}
}

func TestTags(t *testing.T) {
	r := New[string](2)
	require.Equal(t, OK, r.TryPushTag("a", 1<<31|5))
	require.Equal(t, OK, r.PushTag("b", 0, nil))
	require.Equal(t, Full, r.TryPushTag("c", 9))
	v, tag, st := r.PopTag(nil)
	require.Equal(t, "a", v)
	require.Equal(t, uint32(1<<31|5), tag)
	require.Equal(t, OK, st)
	v, tag, st = r.TryPopTag()
	require.Equal(t, []any{"b", uint32(0), OK}, []any{v, tag, st})
	require.Equal(t, OK, r.TryPush("c")) // untagged after a tagged one in the same cell
	_, tag, _ = r.TryPopTag()
	require.Zero(t, tag)
	r.Close()
	_, tag, st = r.TryPopTag()
	require.Equal(t, []any{uint32(0), Closed}, []any{tag, st})
}

func TestSeal(t *testing.T) {
	r := New[int](4)
	for i := range 3 {
		require.Equal(t, OK, r.TryPush(i))
	}
	v, st := r.TryPop()
	require.Equal(t, []any{0, OK}, []any{v, st})
	var moved []int
	r.Seal(func(v int) {
		_, st := r.TryPop() // a pop during the seal finds it closed
		require.Equal(t, Closed, st)
		moved = append(moved, v)
	})
	require.Equal(t, []int{1, 2}, moved)
	require.Equal(t, Closed, r.TryPush(9))
	_, st = r.Pop(nil)
	require.Equal(t, Closed, st)
	require.Zero(t, r.Len())
	require.Equal(t, uint64(3), r.Pushed())
	require.Equal(t, uint64(3), r.Popped())
}
