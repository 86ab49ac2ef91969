package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// testCapacities are the capacities most tests run with: the smallest ring,
// powers of two and sizes that are not.
var testCapacities = []int{1, 2, 3, 7, 64, 1000}

// stuckTimeout bounds how long a test running on the real scheduler waits for
// something that must happen; it is only reached when the ring has lost a
// wakeup or deadlocked.
const stuckTimeout = 10 * time.Second

// testClosedCancel returns a cancel channel that is already closed.
func testClosedCancel() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

type testPopResult[T any] struct {
	v  T
	st Status
}

type testPushResult struct {
	id int
	st Status
}

// testWaitGroup waits for wg, failing the test instead of hanging forever.
// Before failing it closes r so that goroutines stuck in the ring get a
// chance to return.
func testWaitGroup[T any](t *testing.T, wg *sync.WaitGroup, r *Ring[T], what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(stuckTimeout):
		r.Close()
		t.Fatalf("%s did not finish within %v (Len=%d Pushed=%d Popped=%d Closed=%v)",
			what, stuckTimeout, r.Len(), r.Pushed(), r.Popped(), r.Closed())
	}
}

// testRecv receives one value from ch, failing the test instead of hanging.
func testRecv[V any](t *testing.T, ch <-chan V, what string) V {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(stuckTimeout):
		t.Fatalf("%s: nothing received within %v", what, stuckTimeout)
		panic("unreachable")
	}
}

func testIsClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// requireCounters checks Len, Pushed and Popped together.
func requireCounters[T any](t *testing.T, r *Ring[T], length int, pushed, popped uint64, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, length, r.Len(), msgAndArgs...)
	require.Equal(t, pushed, r.Pushed(), msgAndArgs...)
	require.Equal(t, popped, r.Popped(), msgAndArgs...)
}

// ---------------------------------------------------------------------------
// Status and construction

func TestStatusString(t *testing.T) {
	cases := []struct {
		st   Status
		want string // a lower-case word the String must contain
	}{
		{OK, "ok"},
		{Empty, "empty"},
		{Full, "full"},
		{Closed, "closed"},
		{Canceled, "cancel"},
	}
	seen := map[string]Status{}
	for _, tc := range cases {
		s := tc.st.String()
		require.NotEmpty(t, s)
		require.Contains(t, strings.ToLower(s), tc.want, "Status(%d).String() = %q", tc.st, s)
		prev, dup := seen[s]
		require.False(t, dup, "%d and %d both print as %q", prev, tc.st, s)
		seen[s] = tc.st
	}
	// The constants are distinct and in the documented order.
	require.Equal(t, []Status{0, 1, 2, 3, 4}, []Status{OK, Empty, Full, Closed, Canceled})
	// An out-of-range status still prints something instead of panicking.
	require.NotPanics(t, func() { _ = Status(200).String() })
	require.NotEmpty(t, Status(200).String())
}

func TestNewPanicsOnBadCapacity(t *testing.T) {
	for _, capacity := range []int{0, -1, -64, math.MinInt, MaxCapacity + 1, math.MaxInt} {
		t.Run(fmt.Sprint(capacity), func(t *testing.T) {
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				New[int](capacity)
			}()
			require.NotNil(t, recovered, "New(%d) must panic", capacity)
			msg := fmt.Sprint(recovered)
			if err, ok := recovered.(error); ok {
				msg = err.Error()
			}
			require.True(t, strings.HasPrefix(msg, "ring:"), "panic message %q must start with \"ring:\"", msg)
		})
	}
}

func TestNewRingIsEmptyAndOpen(t *testing.T) {
	for _, capacity := range testCapacities {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			r := New[int](capacity)
			require.Equal(t, capacity, r.Cap())
			requireCounters(t, r, 0, 0, 0)
			require.False(t, r.Closed())
			require.NotNil(t, r.Done())
			require.False(t, testIsClosed(r.Done()))
			v, st := r.TryPop()
			require.Equal(t, Empty, st)
			require.Zero(t, v)
			requireCounters(t, r, 0, 0, 0)
		})
	}
}

// ---------------------------------------------------------------------------
// Single-goroutine behaviour of each method

func TestTryPushTryPopFillAndDrain(t *testing.T) {
	for _, capacity := range testCapacities {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			r := New[int](capacity)
			next, want := 0, 0
			for round := range 3 {
				for i := range capacity {
					require.Equal(t, OK, r.TryPush(next), "round %d push %d", round, i)
					next++
					require.Equal(t, i+1, r.Len())
				}
				// Full is reported, repeatedly, and changes nothing.
				for range 3 {
					require.Equal(t, Full, r.TryPush(-1))
				}
				requireCounters(t, r, capacity, uint64(next), uint64(want))
				for i := range capacity {
					v, st := r.TryPop()
					require.Equal(t, OK, st, "round %d pop %d", round, i)
					require.Equal(t, want, v, "FIFO order")
					want++
					require.Equal(t, capacity-i-1, r.Len())
				}
				for range 3 {
					v, st := r.TryPop()
					require.Equal(t, Empty, st)
					require.Zero(t, v)
				}
				requireCounters(t, r, 0, uint64(next), uint64(want))
				require.False(t, r.Closed())
			}
		})
	}
}

func TestPushPopWithoutWaiting(t *testing.T) {
	never := make(chan struct{}) // a cancel channel that is never closed
	for _, capacity := range testCapacities {
		for _, cancel := range []struct {
			name string
			ch   chan struct{}
		}{{"nil", nil}, {"open", never}} {
			t.Run(fmt.Sprintf("cap%d/cancel=%s", capacity, cancel.name), func(t *testing.T) {
				r := New[int](capacity)
				for i := range capacity {
					require.Equal(t, OK, r.Push(i, cancel.ch))
				}
				require.Equal(t, Full, r.TryPush(-1))
				requireCounters(t, r, capacity, uint64(capacity), 0)
				for i := range capacity {
					v, st := r.Pop(cancel.ch)
					require.Equal(t, OK, st)
					require.Equal(t, i, v)
				}
				requireCounters(t, r, 0, uint64(capacity), uint64(capacity))
				// Interleaved single push/pop pairs.
				for i := range 2*capacity + 5 {
					require.Equal(t, OK, r.Push(i, cancel.ch))
					v, st := r.Pop(cancel.ch)
					require.Equal(t, OK, st)
					require.Equal(t, i, v)
				}
				require.Equal(t, 0, r.Len())
			})
		}
	}
}

func TestAvailableItemOrRoomBeatsCancel(t *testing.T) {
	for _, capacity := range testCapacities {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			r := New[int](capacity)
			canceled := testClosedCancel()
			// Room beats an already closed cancel channel.
			for i := range capacity {
				require.Equal(t, OK, r.Push(i, canceled), "push %d with room must succeed despite cancel", i)
			}
			// No room: the closed cancel channel wins and nothing is enqueued.
			require.Equal(t, Canceled, r.Push(-1, canceled))
			requireCounters(t, r, capacity, uint64(capacity), 0)
			// An available item beats an already closed cancel channel.
			for i := range capacity {
				v, st := r.Pop(canceled)
				require.Equal(t, OK, st, "pop %d with an item available must succeed despite cancel", i)
				require.Equal(t, i, v)
			}
			// Nothing available: canceled, nothing consumed.
			v, st := r.Pop(canceled)
			require.Equal(t, Canceled, st)
			require.Zero(t, v)
			requireCounters(t, r, 0, uint64(capacity), uint64(capacity))

			// On a closed ring the remaining items are still handed out to a
			// Pop whose cancel channel is closed.
			left := min(capacity, 2)
			for i := range left {
				require.Equal(t, OK, r.Push(100+i, canceled))
			}
			require.True(t, r.Close())
			for i := range left {
				v, st = r.Pop(canceled)
				require.Equal(t, OK, st, "closed ring, item left, closed cancel")
				require.Equal(t, 100+i, v)
			}
			// Closed and drained with a closed cancel channel: both reasons
			// apply, the API does not rank them; either is acceptable but
			// nothing is returned.
			v, st = r.Pop(canceled)
			require.Contains(t, []Status{Closed, Canceled}, st)
			require.Zero(t, v)
			v, st = r.Pop(nil)
			require.Equal(t, Closed, st)
			require.Zero(t, v)
		})
	}
}

func TestCounterOnlyCountSuccess(t *testing.T) {
	r := New[int](2)
	canceled := testClosedCancel()
	require.Equal(t, OK, r.TryPush(1))
	require.Equal(t, OK, r.Push(2, nil))
	require.Equal(t, Full, r.TryPush(3))
	require.Equal(t, Canceled, r.Push(4, canceled))
	requireCounters(t, r, 2, 2, 0)
	_, st := r.TryPop()
	require.Equal(t, OK, st)
	_, st = r.Pop(nil)
	require.Equal(t, OK, st)
	_, st = r.TryPop()
	require.Equal(t, Empty, st)
	_, st = r.Pop(canceled)
	require.Equal(t, Canceled, st)
	requireCounters(t, r, 0, 2, 2)
	require.Equal(t, OK, r.TryPush(5))
	r.Close()
	require.Equal(t, Closed, r.TryPush(6))
	require.Equal(t, Closed, r.Push(7, nil))
	requireCounters(t, r, 1, 3, 2)
	v, st := r.TryPop()
	require.Equal(t, OK, st)
	require.Equal(t, 5, v)
	_, st = r.TryPop()
	require.Equal(t, Closed, st)
	_, st = r.Pop(nil)
	require.Equal(t, Closed, st)
	requireCounters(t, r, 0, 3, 3)
}

func TestElementTypes(t *testing.T) {
	t.Run("string", func(t *testing.T) {
		r := New[string](3)
		for _, s := range []string{"a", "", "ccc"} {
			require.Equal(t, OK, r.TryPush(s))
		}
		for _, s := range []string{"a", "", "ccc"} {
			v, st := r.TryPop()
			require.Equal(t, OK, st)
			require.Equal(t, s, v)
		}
		v, st := r.TryPop()
		require.Equal(t, Empty, st)
		require.Equal(t, "", v)
	})
	t.Run("struct", func(t *testing.T) {
		type big struct {
			a, b, c, d int64
			s          string
		}
		r := New[big](5)
		for i := range 12 {
			require.Equal(t, OK, r.Push(big{int64(i), -int64(i), 1, 2, fmt.Sprint(i)}, nil))
			v, st := r.Pop(nil)
			require.Equal(t, OK, st)
			require.Equal(t, big{int64(i), -int64(i), 1, 2, fmt.Sprint(i)}, v)
		}
	})
	t.Run("pointer", func(t *testing.T) {
		r := New[*int](2)
		x, y := new(int), new(int)
		require.Equal(t, OK, r.TryPush(x))
		require.Equal(t, OK, r.TryPush(nil))
		require.Equal(t, Full, r.TryPush(y))
		v, st := r.TryPop()
		require.Equal(t, OK, st)
		require.Same(t, x, v)
		v, st = r.TryPop()
		require.Equal(t, OK, st)
		require.Nil(t, v)
		v, st = r.TryPop()
		require.Equal(t, Empty, st)
		require.Nil(t, v)
	})
}

// TestWrapAroundExactFIFO pushes and pops random-sized batches so that the
// fill level wanders between empty and full while the indices wrap around
// the buffer thousands of times; the popped sequence must be exact.
func TestWrapAroundExactFIFO(t *testing.T) {
	for _, capacity := range testCapacities {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			laps := 3000
			if capacity >= 1000 {
				laps = 500
			}
			r := New[uint64](capacity)
			rng := rand.New(rand.NewPCG(uint64(capacity), 7))
			var next, want uint64 // next value to push, next value expected from pop
			total := uint64(laps) * uint64(capacity)
			for want < total {
				room := capacity - int(next-want)
				for range rng.IntN(room + 1) {
					if st := r.TryPush(next); st != OK {
						t.Fatalf("TryPush(%d) = %v with %d free slots", next, st, room)
					}
					next++
				}
				if int(next-want) == capacity {
					if st := r.TryPush(math.MaxUint64); st != Full {
						t.Fatalf("TryPush on a full ring = %v, want Full", st)
					}
				}
				if n := r.Len(); n != int(next-want) {
					t.Fatalf("Len = %d, want %d", n, next-want)
				}
				for range rng.IntN(int(next-want) + 1) {
					v, st := r.TryPop()
					if st != OK || v != want {
						t.Fatalf("TryPop = %d, %v; want %d, OK (pushed %d)", v, st, want, next)
					}
					want++
				}
				if next == want {
					if v, st := r.TryPop(); st != Empty {
						t.Fatalf("TryPop on an empty ring = %d, %v; want Empty", v, st)
					}
				}
				if r.Pushed() != next || r.Popped() != want || r.Len() != int(next-want) {
					t.Fatalf("Pushed=%d Popped=%d Len=%d; want %d %d %d", r.Pushed(), r.Popped(), r.Len(), next, want, next-want)
				}
			}
			// Drain what is left, then the ring is empty again.
			for want < next {
				v, st := r.TryPop()
				require.Equal(t, OK, st)
				require.Equal(t, want, v)
				want++
			}
			_, st := r.TryPop()
			require.Equal(t, Empty, st)
			require.GreaterOrEqual(t, r.Pushed(), total)
		})
	}
}

// TestWrapAroundSteadyFill keeps the ring at a constant fill level f and does
// one push and one pop per step, so every slot is reused at every offset.
func TestWrapAroundSteadyFill(t *testing.T) {
	for _, capacity := range []int{1, 2, 3, 7, 64} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			r := New[int](capacity)
			next, want := 0, 0
			for fill := range capacity {
				for next-want < fill {
					require.Equal(t, OK, r.TryPush(next))
					next++
				}
				for range 2000 {
					if st := r.TryPush(next); st != OK {
						t.Fatalf("fill %d: TryPush = %v", fill, st)
					}
					next++
					if v, st := r.TryPop(); st != OK || v != want {
						t.Fatalf("fill %d: TryPop = %d, %v; want %d, OK", fill, v, st, want)
					}
					want++
				}
				require.Equal(t, fill, r.Len())
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Close

func TestCloseSemantics(t *testing.T) {
	for _, capacity := range testCapacities {
		for _, prefill := range []string{"empty", "partial", "full"} {
			t.Run(fmt.Sprintf("cap%d/%s", capacity, prefill), func(t *testing.T) {
				r := New[int](capacity)
				n := map[string]int{"empty": 0, "partial": (capacity + 1) / 2, "full": capacity}[prefill]
				for i := range n {
					require.Equal(t, OK, r.TryPush(i))
				}
				done := r.Done()
				require.False(t, r.Closed())
				require.False(t, testIsClosed(done))

				require.True(t, r.Close(), "first Close reports that it closed the ring")
				require.True(t, r.Closed())
				require.True(t, testIsClosed(done), "Done channel obtained before Close is closed")
				require.True(t, testIsClosed(r.Done()))
				require.False(t, r.Close(), "second Close reports false")
				require.False(t, r.Close())
				require.True(t, r.Closed())

				// Every kind of push is refused with Closed, whether or not
				// there is room, and nothing is enqueued.
				require.Equal(t, Closed, r.TryPush(-1))
				require.Equal(t, Closed, r.Push(-2, nil))
				require.Equal(t, Closed, r.Push(-3, make(chan struct{})))
				st := r.Push(-4, testClosedCancel())
				require.Contains(t, []Status{Closed, Canceled}, st, "push on a closed ring with a closed cancel")
				requireCounters(t, r, n, uint64(n), 0)

				// Pops drain the buffered items in order, then report Closed
				// forever.
				for i := range n {
					var v int
					var st Status
					switch i % 3 {
					case 0:
						v, st = r.TryPop()
					case 1:
						v, st = r.Pop(nil)
					default:
						v, st = r.Pop(make(chan struct{}))
					}
					require.Equal(t, OK, st, "pop %d of %d after Close", i, n)
					require.Equal(t, i, v)
					require.Equal(t, n-i-1, r.Len())
				}
				for range 3 {
					v, st := r.TryPop()
					require.Equal(t, Closed, st)
					require.Zero(t, v)
					v, st = r.Pop(nil)
					require.Equal(t, Closed, st)
					require.Zero(t, v)
					v, st = r.Pop(make(chan struct{}))
					require.Equal(t, Closed, st)
					require.Zero(t, v)
				}
				require.Equal(t, Closed, r.TryPush(-5))
				requireCounters(t, r, 0, uint64(n), uint64(n))
			})
		}
	}
}

func TestCloseConcurrentlyExactlyOnce(t *testing.T) {
	for round := range 50 {
		r := New[int](3)
		require.Equal(t, OK, r.TryPush(1))
		const closers = 16
		var trues atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range closers {
			wg.Go(func() {
				<-start
				if r.Close() {
					trues.Add(1)
				}
				if !r.Closed() {
					t.Error("Closed() is false after Close returned")
				}
			})
		}
		close(start)
		testWaitGroup(t, &wg, r, "closers")
		require.Equal(t, int32(1), trues.Load(), "round %d: exactly one Close must report true", round)
		require.True(t, testIsClosed(r.Done()))
		v, st := r.TryPop()
		require.Equal(t, OK, st)
		require.Equal(t, 1, v)
		_, st = r.TryPop()
		require.Equal(t, Closed, st)
	}
}

// TestCloseReturnsOnlyWhenClosed: every Close call, including one that loses
// the race and returns false, returns only once the ring is closed in every
// observable way: Closed() is true and Done() is closed. A caller that does
// "r.Close(); select { case <-r.Done(): ... default: ... }" must not see an
// open Done channel.
func TestCloseReturnsOnlyWhenClosed(t *testing.T) {
	violations := 0
	for range 10000 {
		r := New[int](1)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var bad atomic.Int32
		for range 4 {
			wg.Go(func() {
				<-start
				r.Close()
				if !r.Closed() || !testIsClosed(r.Done()) {
					bad.Add(1)
				}
			})
		}
		close(start)
		testWaitGroup(t, &wg, r, "closers")
		violations += int(bad.Load())
	}
	require.Zero(t, violations, "Close returned (false) before Done was closed by the concurrent winning Close")
}

// ---------------------------------------------------------------------------
// Waiting Push and Pop, checked deterministically with testing/synctest.
//
// Every ring used inside a bubble is created inside it, so a goroutine waiting
// in Push or Pop is durably blocked and synctest.Wait returns only once every
// such goroutine has either returned or is parked.

// startPops starts n goroutines doing Pop(cancel) and returns their results.
func startPops[T any](r *Ring[T], n int, cancel <-chan struct{}) chan testPopResult[T] {
	out := make(chan testPopResult[T], n)
	for range n {
		go func() {
			v, st := r.Pop(cancel)
			out <- testPopResult[T]{v, st}
		}()
	}
	return out
}

// startPushes starts one goroutine per id doing Push(id, cancel).
func startPushes(r *Ring[int], ids []int, cancel <-chan struct{}) chan testPushResult {
	out := make(chan testPushResult, len(ids))
	for _, id := range ids {
		go func() {
			out <- testPushResult{id, r.Push(id, cancel)}
		}()
	}
	return out
}

func testRange(from, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = from + i
	}
	return s
}

// drainAll pops until Closed or Empty and returns the items.
func drainAll[T any](t *testing.T, r *Ring[T]) []T {
	t.Helper()
	var out []T
	for {
		v, st := r.TryPop()
		if st != OK {
			require.Contains(t, []Status{Empty, Closed}, st)
			return out
		}
		out = append(out, v)
	}
}

// fullRing returns a ring of the given capacity holding 0..capacity-1,
// closed when the test ends.
func fullRing(t *testing.T, capacity int) *Ring[int] {
	r := New[int](capacity)
	t.Cleanup(func() { r.Close() })
	for i := range capacity {
		require.Equal(t, OK, r.TryPush(i))
	}
	return r
}

func TestPushWaitsWhileFull(t *testing.T) {
	for _, capacity := range []int{1, 3, 7} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := fullRing(t, capacity)
				res := startPushes(r, []int{100}, nil)
				synctest.Wait()
				require.Empty(t, res, "Push on a full ring must wait")
				requireCounters(t, r, capacity, uint64(capacity), 0)

				v, st := r.TryPop()
				require.Equal(t, OK, st)
				require.Equal(t, 0, v)
				synctest.Wait()
				require.Len(t, res, 1, "a pop must wake the waiting Push")
				require.Equal(t, testPushResult{100, OK}, <-res)
				requireCounters(t, r, capacity, uint64(capacity)+1, 1)
				got := drainAll(t, r)
				require.Equal(t, append(testRange(1, capacity-1), 100), got)
			})
		})
	}
}

func TestPopWaitsWhileEmpty(t *testing.T) {
	for _, capacity := range []int{1, 3, 7} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](capacity)
				t.Cleanup(func() { r.Close() })
				res := startPops(r, 1, nil)
				synctest.Wait()
				require.Empty(t, res, "Pop on an empty ring must wait")
				require.Equal(t, OK, r.TryPush(42))
				synctest.Wait()
				require.Len(t, res, 1, "a push must wake the waiting Pop")
				require.Equal(t, testPopResult[int]{42, OK}, <-res)
				requireCounters(t, r, 0, 1, 1)
			})
		})
	}
}

// TestBlockedPushWokenByClose: pushers waiting on a full ring return Closed
// when the ring is closed, and their items are never popped.
func TestBlockedPushWokenByClose(t *testing.T) {
	for _, capacity := range []int{1, 3, 64} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := fullRing(t, capacity)
				const waiters = 8
				never := make(chan struct{})
				res := startPushes(r, testRange(1000, waiters/2), nil)
				res2 := startPushes(r, testRange(2000, waiters/2), never)
				synctest.Wait()
				require.Empty(t, res)
				require.Empty(t, res2)

				require.True(t, r.Close())
				synctest.Wait()
				require.Len(t, res, waiters/2, "Close must wake every waiting Push")
				require.Len(t, res2, waiters/2, "Close must wake every waiting Push")
				for range waiters / 2 {
					require.Equal(t, Closed, (<-res).st)
					require.Equal(t, Closed, (<-res2).st)
				}
				requireCounters(t, r, capacity, uint64(capacity), 0)
				got := drainAll(t, r)
				require.Equal(t, testRange(0, capacity), got, "only the items pushed before Close are popped")
				_, st := r.Pop(nil)
				require.Equal(t, Closed, st)
			})
		})
	}
}

// TestBlockedPopWokenByClose: poppers waiting on an empty ring return Closed
// when the ring is closed; if items arrive first they are handed out, and
// only the remaining poppers see Closed.
func TestBlockedPopWokenByClose(t *testing.T) {
	for _, capacity := range []int{1, 3, 64} {
		for _, items := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("cap%d/items%d", capacity, items), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := New[int](capacity)
					t.Cleanup(func() { r.Close() })
					const waiters = 8
					res := startPops(r, waiters/2, nil)
					res2 := startPops(r, waiters/2, make(chan struct{}))
					synctest.Wait()
					require.Empty(t, res)
					require.Empty(t, res2)
					for i := range items {
						require.Equal(t, OK, r.Push(i, nil))
						synctest.Wait()
					}
					require.True(t, r.Close())
					synctest.Wait()
					require.Len(t, res, waiters/2, "Close must wake every waiting Pop")
					require.Len(t, res2, waiters/2, "Close must wake every waiting Pop")
					close(res)
					close(res2)
					var got []int
					closed := 0
					for _, ch := range []chan testPopResult[int]{res, res2} {
						for pr := range ch {
							switch pr.st {
							case OK:
								got = append(got, pr.v)
							case Closed:
								require.Zero(t, pr.v)
								closed++
							default:
								t.Fatalf("unexpected status %v", pr.st)
							}
						}
					}
					require.ElementsMatch(t, testRange(0, items), got)
					require.Equal(t, waiters-items, closed)
					requireCounters(t, r, 0, uint64(items), uint64(items))
				})
			})
		}
	}
}

// TestPopDrainsThenClosedWhileWaiting: a popper loops on Pop(nil); items
// pushed before and after it starts waiting, then Close, are all delivered
// before it sees Closed.
func TestPopDrainsThenClosedWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New[int](3)
		t.Cleanup(func() { r.Close() })
		got := make(chan int, 100)
		end := make(chan Status, 1)
		go func() {
			for {
				v, st := r.Pop(nil)
				if st != OK {
					end <- st
					return
				}
				got <- v
			}
		}()
		synctest.Wait()
		// The popper is parked; push more than the ring holds (Push waits
		// for the popper to make room), then close without waiting, so some
		// items are still buffered or in flight when Close happens.
		for i := range 10 {
			require.Equal(t, OK, r.Push(i, nil))
		}
		require.Equal(t, OK, r.Push(10, nil))
		require.Equal(t, OK, r.Push(11, nil))
		require.True(t, r.Close())
		synctest.Wait()
		require.Equal(t, Closed, <-end)
		close(got)
		var all []int
		for v := range got {
			all = append(all, v)
		}
		require.Equal(t, testRange(0, 12), all)
	})
}

func TestPushCanceled(t *testing.T) {
	for _, capacity := range []int{1, 3, 64} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := fullRing(t, capacity)
				cancel := make(chan struct{})
				res := startPushes(r, []int{-1, -2, -3}, cancel)
				synctest.Wait()
				require.Empty(t, res)
				close(cancel)
				synctest.Wait()
				require.Len(t, res, 3, "closing cancel must wake every waiting Push")
				for range 3 {
					require.Equal(t, Canceled, (<-res).st)
				}
				requireCounters(t, r, capacity, uint64(capacity), 0)
				require.False(t, r.Closed())

				// The ring is still usable, and the canceled items never show up.
				v, st := r.TryPop()
				require.Equal(t, OK, st)
				require.Equal(t, 0, v)
				require.Equal(t, OK, r.TryPush(capacity))
				require.Equal(t, Full, r.TryPush(-4))
				require.Equal(t, testRange(1, capacity), drainAll(t, r))
			})
		})
	}
}

func TestPopCanceled(t *testing.T) {
	for _, capacity := range []int{1, 3, 64} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](capacity)
				t.Cleanup(func() { r.Close() })
				cancel := make(chan struct{})
				res := startPops(r, 3, cancel)
				synctest.Wait()
				require.Empty(t, res)
				close(cancel)
				synctest.Wait()
				require.Len(t, res, 3, "closing cancel must wake every waiting Pop")
				for range 3 {
					pr := <-res
					require.Equal(t, Canceled, pr.st)
					require.Zero(t, pr.v)
				}
				requireCounters(t, r, 0, 0, 0)
				require.False(t, r.Closed())

				// The canceled poppers took nothing: a later item is still there.
				require.Equal(t, OK, r.TryPush(7))
				synctest.Wait()
				v, st := r.TryPop()
				require.Equal(t, OK, st)
				require.Equal(t, 7, v)
			})
		})
	}
}

// TestCanceledWaiterDoesNotSwallowWakeup: of two waiting poppers (pushers),
// one is canceled; the item (room) that arrives afterwards must wake the
// other one. This catches implementations that hand a wakeup to a waiter that
// has already left.
func TestCanceledWaiterDoesNotSwallowWakeup(t *testing.T) {
	for _, canceledFirst := range []bool{true, false} {
		t.Run(fmt.Sprint("pop/canceledParkedFirst=", canceledFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](2)
				t.Cleanup(func() { r.Close() })
				cancel := make(chan struct{})
				var a, b chan testPopResult[int]
				if canceledFirst {
					a = startPops(r, 1, cancel)
					synctest.Wait()
					b = startPops(r, 1, nil)
				} else {
					b = startPops(r, 1, nil)
					synctest.Wait()
					a = startPops(r, 1, cancel)
				}
				synctest.Wait()
				close(cancel)
				synctest.Wait()
				require.Equal(t, Canceled, (<-a).st)
				require.Empty(t, b)
				require.Equal(t, OK, r.TryPush(5))
				synctest.Wait()
				require.Len(t, b, 1, "the remaining popper must be woken")
				require.Equal(t, testPopResult[int]{5, OK}, <-b)
			})
		})
		t.Run(fmt.Sprint("push/canceledParkedFirst=", canceledFirst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](2)
				t.Cleanup(func() { r.Close() })
				require.Equal(t, OK, r.TryPush(1))
				require.Equal(t, OK, r.TryPush(2))
				cancel := make(chan struct{})
				var a, b chan testPushResult
				if canceledFirst {
					a = startPushes(r, []int{-1}, cancel)
					synctest.Wait()
					b = startPushes(r, []int{3}, nil)
				} else {
					b = startPushes(r, []int{3}, nil)
					synctest.Wait()
					a = startPushes(r, []int{-1}, cancel)
				}
				synctest.Wait()
				close(cancel)
				synctest.Wait()
				require.Equal(t, Canceled, (<-a).st)
				require.Empty(t, b)
				v, st := r.TryPop()
				require.Equal(t, OK, st)
				require.Equal(t, 1, v)
				synctest.Wait()
				require.Len(t, b, 1, "the remaining pusher must be woken")
				require.Equal(t, testPushResult{3, OK}, <-b)
				require.Equal(t, []int{2, 3}, drainAll(t, r))
			})
		})
	}
}

// TestCancelRacesWithArrival: a popper (pusher) with a cancel channel and one
// without wait on the ring; an item (a free slot) arrives at the same moment
// the first one's cancel channel is closed. Whatever wins, the item must end
// up with exactly one popper or stay in the ring with nobody left waiting
// for it; a Canceled waiter must not have taken it, and the second waiter
// must not be left sleeping next to an available item (slot).
func TestCancelRacesWithArrival(t *testing.T) {
	const rounds = 300
	t.Run("pop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			outcomes := map[string]int{}
			for i := range rounds {
				r := New[int](1)
				t.Cleanup(func() { r.Close() })
				cancel := make(chan struct{})
				a := startPops(r, 1, cancel)
				b := startPops(r, 1, nil)
				synctest.Wait()
				go func() { r.TryPush(i) }()
				go func() { close(cancel) }()
				synctest.Wait()
				require.Len(t, a, 1, "round %d: the canceled popper must return", i)
				ra := <-a
				switch ra.st {
				case OK:
					require.Equal(t, i, ra.v)
					require.Empty(t, b, "round %d: only one item was pushed", i)
					require.Equal(t, 0, r.Len())
					outcomes["a got it"]++
				case Canceled:
					require.Zero(t, ra.v)
					require.Len(t, b, 1, "round %d: popper A was canceled, so popper B must have been woken for the item (Len=%d)", i, r.Len())
					require.Equal(t, testPopResult[int]{i, OK}, <-b)
					outcomes["b got it"]++
				default:
					t.Fatalf("round %d: unexpected status %v", i, ra.st)
				}
				require.Equal(t, 0, r.Len())
				r.Close()
				synctest.Wait()
				for len(b) > 0 {
					require.Equal(t, Closed, (<-b).st)
				}
				requireCounters(t, r, 0, 1, 1)
			}
			t.Logf("outcomes: %v", outcomes)
		})
	})
	t.Run("push", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			outcomes := map[string]int{}
			for i := range rounds {
				r := New[int](1)
				t.Cleanup(func() { r.Close() })
				require.Equal(t, OK, r.TryPush(-1))
				cancel := make(chan struct{})
				a := startPushes(r, []int{1}, cancel)
				b := startPushes(r, []int{2}, nil)
				synctest.Wait()
				go func() {
					if v, st := r.TryPop(); st != OK || v != -1 {
						t.Errorf("TryPop = %d, %v", v, st)
					}
				}()
				go func() { close(cancel) }()
				synctest.Wait()
				require.Len(t, a, 1, "round %d: the canceled pusher must return", i)
				switch ra := <-a; ra.st {
				case OK:
					require.Empty(t, b, "round %d: there was room for one push only", i)
					require.Equal(t, 1, r.Len())
					v, st := r.TryPop()
					require.Equal(t, OK, st)
					require.Equal(t, 1, v)
					// B is still waiting and now has room.
					synctest.Wait()
					require.Len(t, b, 1, "round %d: the pop after A's push must wake pusher B", i)
					outcomes["a pushed"]++
				case Canceled:
					require.Len(t, b, 1, "round %d: pusher A was canceled, so pusher B must have been woken for the free slot (Len=%d)", i, r.Len())
					outcomes["b pushed"]++
				default:
					t.Fatalf("round %d: unexpected status %v", i, ra.st)
				}
				require.Equal(t, testPushResult{2, OK}, <-b)
				require.Equal(t, []int{2}, drainAll(t, r))
				r.Close()
				synctest.Wait()
				require.Empty(t, b)
				require.Equal(t, 0, r.Len())
			}
			t.Logf("outcomes: %v", outcomes)
		})
	})
}

// ---------------------------------------------------------------------------
// Lost wakeups: many goroutines sleeping in Pop (Push) must all be woken as
// items (slots) become available, one per item (slot).

func TestSleepingPoppersAllWoken(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 64} {
		t.Run(fmt.Sprintf("oneByOne/cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 16
				r := New[int](capacity)
				t.Cleanup(func() { r.Close() })
				res := startPops(r, n, nil)
				synctest.Wait()
				require.Empty(t, res)
				for i := range n {
					require.Equal(t, OK, r.TryPush(i))
					synctest.Wait()
					require.Len(t, res, 1, "push %d must wake exactly one sleeping popper (Len=%d)", i, r.Len())
					require.Equal(t, testPopResult[int]{i, OK}, <-res)
					require.Equal(t, 0, r.Len())
				}
				requireCounters(t, r, 0, n, n)
			})
		})
	}
	for _, capacity := range []int{1, 8, 64} {
		t.Run(fmt.Sprintf("burst/cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 16
				r := New[int](capacity)
				t.Cleanup(func() { r.Close() })
				res := startPops(r, n, nil)
				synctest.Wait()
				var got []int
				next := 0
				for _, burst := range []int{5, 1, 7, 3} {
					// Push a burst back to back (blocking when the ring is
					// full; the sleepers make room).
					for range burst {
						require.Equal(t, OK, r.Push(next, nil))
						next++
					}
					synctest.Wait()
					require.Len(t, res, burst, "a burst of %d pushes must wake %d poppers (Len=%d)", burst, burst, r.Len())
					for range burst {
						pr := <-res
						require.Equal(t, OK, pr.st)
						got = append(got, pr.v)
					}
					require.Equal(t, 0, r.Len())
				}
				require.ElementsMatch(t, testRange(0, n), got)
			})
		})
	}
}

func TestSleepingPushersAllWoken(t *testing.T) {
	for _, capacity := range []int{1, 2, 7, 64} {
		t.Run(fmt.Sprintf("oneByOne/cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 16
				r := New[int](capacity)
				t.Cleanup(func() { r.Close() })
				for i := range capacity {
					require.Equal(t, OK, r.TryPush(-1-i))
				}
				res := startPushes(r, testRange(1000, n), nil)
				synctest.Wait()
				require.Empty(t, res)
				var popped, pushedBy []int
				for i := range n {
					v, st := r.TryPop()
					require.Equal(t, OK, st)
					popped = append(popped, v)
					synctest.Wait()
					require.Len(t, res, 1, "pop %d must wake exactly one sleeping pusher (Len=%d)", i, r.Len())
					pr := <-res
					require.Equal(t, OK, pr.st)
					pushedBy = append(pushedBy, pr.id)
					require.Equal(t, capacity, r.Len())
				}
				popped = append(popped, drainAll(t, r)...)
				// The prefill comes out first, in order, then the pushers'
				// items in the order their pushes completed.
				want := make([]int, 0, capacity+n)
				for i := range capacity {
					want = append(want, -1-i)
				}
				want = append(want, pushedBy...)
				require.Equal(t, want, popped)
				require.ElementsMatch(t, testRange(1000, n), pushedBy)
			})
		})
	}
	for _, capacity := range []int{1, 8, 64} {
		t.Run(fmt.Sprintf("burst/cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 16
				r := New[int](capacity)
				t.Cleanup(func() { r.Close() })
				for range capacity {
					require.Equal(t, OK, r.TryPush(-1))
				}
				res := startPushes(r, testRange(1000, n), nil)
				synctest.Wait()
				var pushedBy []int
				for _, burst := range []int{5, 1, 7, 3} {
					for range burst {
						_, st := r.Pop(nil)
						require.Equal(t, OK, st)
					}
					synctest.Wait()
					require.Len(t, res, burst, "a burst of %d pops must wake %d pushers (Len=%d)", burst, burst, r.Len())
					for range burst {
						pr := <-res
						require.Equal(t, OK, pr.st)
						pushedBy = append(pushedBy, pr.id)
					}
					require.Equal(t, capacity, r.Len())
				}
				require.ElementsMatch(t, testRange(1000, n), pushedBy)
				items := drainAll(t, r)
				require.Len(t, items, capacity)
			})
		})
	}
}

// TestBurstWakeupsWhileWaitersArrive starts the waiters and, without waiting
// for them to park, immediately makes a burst of items (free slots)
// available, so wakeups are sent while some waiters are between deciding to
// sleep and sleeping. Once everything has settled (synctest.Wait, no
// timeouts) every waiter must have been served: a waiter left sleeping next
// to an available item (slot) is a lost wakeup.
func TestBurstWakeupsWhileWaitersArrive(t *testing.T) {
	const rounds = 400
	for _, n := range []int{2, 4, 8} {
		t.Run(fmt.Sprintf("poppers=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 11))
				for round := range rounds {
					r := New[int](n)
					t.Cleanup(func() { r.Close() })
					res := startPops(r, n, nil)
					for range rng.IntN(4) {
						runtime.Gosched()
					}
					for i := range n {
						require.Equal(t, OK, r.TryPush(i))
					}
					synctest.Wait()
					require.Len(t, res, n, "round %d: %d items pushed for %d poppers, but only %d poppers returned (Len=%d)", round, n, n, len(res), r.Len())
					require.Equal(t, 0, r.Len())
					r.Close()
				}
			})
		})
		t.Run(fmt.Sprintf("pushers=%d", n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), 12))
				for round := range rounds {
					r := New[int](n)
					t.Cleanup(func() { r.Close() })
					for i := range n {
						require.Equal(t, OK, r.TryPush(-1-i))
					}
					res := startPushes(r, testRange(0, n), nil)
					for range rng.IntN(4) {
						runtime.Gosched()
					}
					for i := range n {
						v, st := r.TryPop()
						require.Equal(t, OK, st)
						require.Equal(t, -1-i, v)
					}
					synctest.Wait()
					require.Len(t, res, n, "round %d: %d slots freed for %d pushers, but only %d pushers returned (Len=%d)", round, n, n, len(res), r.Len())
					require.Equal(t, n, r.Len())
					r.Close()
				}
			})
		})
	}
}

// TestWakeupsOnRealScheduler repeats the wakeup chains without synctest, so
// the waiters may or may not be parked yet when the item (slot) arrives.
// Each step waits for one waiter's result through a channel.
func TestWakeupsOnRealScheduler(t *testing.T) {
	const rounds, n = 100, 8
	t.Run("poppers", func(t *testing.T) {
		for round := range rounds {
			r := New[int](1)
			res := startPops(r, n, nil)
			seen := map[int]bool{}
			for i := range n {
				require.Equal(t, OK, r.Push(i, nil))
				pr := testRecv(t, res, fmt.Sprintf("round %d item %d", round, i))
				require.Equal(t, OK, pr.st)
				require.False(t, seen[pr.v])
				seen[pr.v] = true
			}
			require.Len(t, seen, n)
			require.True(t, r.Close())
		}
	})
	t.Run("pushers", func(t *testing.T) {
		for round := range rounds {
			r := New[int](1)
			require.Equal(t, OK, r.TryPush(-1))
			res := startPushes(r, testRange(0, n), nil)
			seen := map[int]bool{}
			for i := range n {
				v, st := r.Pop(nil)
				require.Equal(t, OK, st)
				if i > 0 {
					require.True(t, seen[v], "round %d: popped %d before its push completed", round, v)
				}
				pr := testRecv(t, res, fmt.Sprintf("round %d slot %d", round, i))
				require.Equal(t, OK, pr.st)
				seen[pr.id] = true
			}
			v, st := r.Pop(nil)
			require.Equal(t, OK, st)
			require.True(t, seen[v])
			require.Len(t, seen, n)
			require.True(t, r.Close())
		}
	})
}

// ---------------------------------------------------------------------------
// Stress tests, meant to be run with -race.

type stressItem struct {
	p, seq int
}

// stressPush pushes v with a mix of Push (nil or never-closed cancel) and
// TryPush retried on Full. It returns the final status (never Full).
func stressPush(r *Ring[stressItem], v stressItem, rng *rand.Rand, never <-chan struct{}) Status {
	switch rng.IntN(3) {
	case 0:
		return r.Push(v, nil)
	case 1:
		return r.Push(v, never)
	default:
		for {
			st := r.TryPush(v)
			if st != Full {
				return st
			}
			runtime.Gosched()
		}
	}
}

// stressPop pops with a mix of Pop (nil or never-closed cancel) and TryPop
// retried on Empty. It returns OK or Closed (or whatever else went wrong).
// startConsumers starts n consumers on wg that pop with stressPop until the
// ring is closed and drained; each records what it saw in its own slice.
func startConsumers(t *testing.T, wg *sync.WaitGroup, r *Ring[stressItem], n int, seed uint64, never <-chan struct{}) [][]stressItem {
	seen := make([][]stressItem, n)
	for c := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), seed))
			for {
				v, st := stressPop(r, rng, never)
				if st == Closed {
					return
				}
				if st != OK {
					t.Errorf("consumer %d: pop = %v", c, st)
					return
				}
				seen[c] = append(seen[c], v)
			}
		})
	}
	return seen
}

func stressPop(r *Ring[stressItem], rng *rand.Rand, never <-chan struct{}) (stressItem, Status) {
	switch rng.IntN(3) {
	case 0:
		return r.Pop(nil)
	case 1:
		return r.Pop(never)
	default:
		for {
			v, st := r.TryPop()
			if st != Empty {
				return v, st
			}
			runtime.Gosched()
		}
	}
}

// checkStressOutcome verifies that the items seen by the consumers are exactly
// the accepted pushes, each once, that rejected pushes never appear, and that
// each consumer saw every producer's items in increasing seq order.
func checkStressOutcome(t *testing.T, producers int, accepted, rejected [][]int, seen [][]stressItem) {
	t.Helper()
	got := make([]map[int]int, producers)
	for p := range got {
		got[p] = map[int]int{}
	}
	for c, items := range seen {
		last := make([]int, producers)
		for p := range last {
			last[p] = -1
		}
		for _, it := range items {
			require.True(t, it.p >= 0 && it.p < producers, "consumer %d popped an item from unknown producer %d", c, it.p)
			require.Greater(t, it.seq, last[it.p], "consumer %d saw producer %d's seq %d after %d: FIFO violated", c, it.p, it.seq, last[it.p])
			last[it.p] = it.seq
			got[it.p][it.seq]++
		}
	}
	for p := range producers {
		for _, seq := range accepted[p] {
			n := got[p][seq]
			require.Equal(t, 1, n, "producer %d seq %d got OK and was popped %d times", p, seq, n)
			delete(got[p], seq)
		}
		for _, seq := range rejected[p] {
			require.Zero(t, got[p][seq], "producer %d seq %d was refused but popped", p, seq)
		}
		require.Empty(t, got[p], "producer %d: popped items that were never pushed", p)
	}
}

func TestStressProducersConsumers(t *testing.T) {
	cases := []struct{ producers, consumers, capacity int }{
		{1, 1, 1}, {1, 1, 7},
		{4, 4, 1}, {4, 4, 7},
		{1, 3, 1}, {1, 3, 7},
		{3, 1, 1}, {3, 1, 7},
		{8, 8, 64}, {2, 5, 1000}, {8, 2, 3},
	}
	const perProducer = 2000
	for _, tc := range cases {
		t.Run(fmt.Sprintf("P%dxC%d/cap%d", tc.producers, tc.consumers, tc.capacity), func(t *testing.T) {
			r := New[stressItem](tc.capacity)
			never := make(chan struct{})
			accepted := make([][]int, tc.producers)
			var producers sync.WaitGroup
			for p := range tc.producers {
				producers.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(p), 1))
					for seq := range perProducer {
						if st := stressPush(r, stressItem{p, seq}, rng, never); st != OK {
							t.Errorf("producer %d: push %d = %v on an open ring", p, seq, st)
							return
						}
						accepted[p] = append(accepted[p], seq)
					}
				})
			}
			var consumers sync.WaitGroup
			seen := startConsumers(t, &consumers, r, tc.consumers, 2, never)
			// Len stays within 0..Cap and Pushed >= Popped throughout.
			stop := make(chan struct{})
			var monitor sync.WaitGroup
			monitor.Go(func() {
				for !testIsClosed(stop) {
					popped := r.Popped()
					pushed := r.Pushed()
					if n := r.Len(); n < 0 || n > tc.capacity {
						t.Errorf("Len = %d outside 0..%d", n, tc.capacity)
						return
					}
					if pushed < popped {
						t.Errorf("Pushed %d < Popped %d (read in that order)", pushed, popped)
						return
					}
					runtime.Gosched()
				}
			})

			testWaitGroup(t, &producers, r, "producers")
			require.True(t, r.Close())
			testWaitGroup(t, &consumers, r, "consumers")
			close(stop)
			monitor.Wait()
			if t.Failed() {
				return
			}

			total := uint64(tc.producers * perProducer)
			requireCounters(t, r, 0, total, total)
			checkStressOutcome(t, tc.producers, accepted, make([][]int, tc.producers), seen)
			if tc.producers == 1 && tc.consumers == 1 {
				require.Len(t, seen[0], perProducer)
				for i, it := range seen[0] {
					require.Equal(t, stressItem{0, i}, it, "single producer, single consumer: exact sequence")
				}
			}
		})
	}
}

// TestStressCloseRacesWithProducers closes the ring (from several goroutines
// at once) while many producers are pushing, many of them blocked on a small
// ring. Every push that got OK is popped exactly once; no refused push is
// ever popped; once a producer has been refused, later pushes are refused too.
func TestStressCloseRacesWithProducers(t *testing.T) {
	cases := []struct{ producers, consumers, capacity int }{
		{8, 2, 1}, {8, 2, 7}, {16, 1, 3}, {4, 4, 64}, {16, 4, 1},
	}
	const rounds = 15
	for _, tc := range cases {
		t.Run(fmt.Sprintf("P%dxC%d/cap%d", tc.producers, tc.consumers, tc.capacity), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.producers), uint64(tc.capacity)))
			for round := range rounds {
				r := New[stressItem](tc.capacity)
				never := make(chan struct{})
				threshold := uint64(rng.IntN(400))
				accepted := make([][]int, tc.producers)
				rejected := make([][]int, tc.producers)
				var producers sync.WaitGroup
				for p := range tc.producers {
					producers.Go(func() {
						rng := rand.New(rand.NewPCG(uint64(p), uint64(round)))
						seq := 0
						for ; ; seq++ {
							st := stressPush(r, stressItem{p, seq}, rng, never)
							if st == OK {
								accepted[p] = append(accepted[p], seq)
								continue
							}
							if st != Closed {
								t.Errorf("producer %d: push = %v", p, st)
								return
							}
							rejected[p] = append(rejected[p], seq)
							break
						}
						// Once refused, always refused.
						for range 3 {
							seq++
							if st := stressPush(r, stressItem{p, seq}, rng, never); st != Closed {
								t.Errorf("producer %d: push after a Closed push = %v", p, st)
							}
							rejected[p] = append(rejected[p], seq)
						}
					})
				}
				var consumers sync.WaitGroup
				seen := startConsumers(t, &consumers, r, tc.consumers, uint64(round)+100, never)
				var closers sync.WaitGroup
				var trues atomic.Int32
				for range 3 {
					closers.Go(func() {
						for r.Pushed() < threshold {
							runtime.Gosched()
						}
						if r.Close() {
							trues.Add(1)
						}
					})
				}
				testWaitGroup(t, &closers, r, "closers")
				testWaitGroup(t, &producers, r, "producers")
				testWaitGroup(t, &consumers, r, "consumers")
				if t.Failed() {
					return
				}
				require.Equal(t, int32(1), trues.Load(), "exactly one Close reports true")
				total := 0
				for p := range accepted {
					total += len(accepted[p])
				}
				requireCounters(t, r, 0, uint64(total), uint64(total), "round %d", round)
				checkStressOutcome(t, tc.producers, accepted, rejected, seen)
			}
		})
	}
}

// TestStressCancelRaces closes cancel channels of waiting producers and
// consumers at random moments. A Push that returned Canceled must not have
// enqueued its item; a Pop that returned Canceled must not have consumed one,
// so every accepted item is still popped exactly once.
func TestStressCancelRaces(t *testing.T) {
	cases := []struct{ producers, consumers, capacity int }{
		{4, 4, 1}, {4, 4, 5}, {8, 2, 2}, {2, 8, 3},
	}
	const perProducer = 1000
	for _, tc := range cases {
		t.Run(fmt.Sprintf("P%dxC%d/cap%d", tc.producers, tc.consumers, tc.capacity), func(t *testing.T) {
			r := New[stressItem](tc.capacity)
			// Each worker reads its current cancel channel before every call;
			// the chaos goroutine swaps in a fresh one and closes the old.
			cancels := make([]atomic.Pointer[chan struct{}], tc.producers+tc.consumers)
			for i := range cancels {
				ch := make(chan struct{})
				cancels[i].Store(&ch)
			}
			accepted := make([][]int, tc.producers)
			rejected := make([][]int, tc.producers)
			var canceledPops atomic.Int64
			var producers sync.WaitGroup
			for p := range tc.producers {
				producers.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(p), 3))
					for seq := range perProducer {
						var st Status
						if rng.IntN(4) == 0 {
							for st = r.TryPush(stressItem{p, seq}); st == Full; st = r.TryPush(stressItem{p, seq}) {
								runtime.Gosched()
							}
						} else {
							st = r.Push(stressItem{p, seq}, *cancels[p].Load())
						}
						switch st {
						case OK:
							accepted[p] = append(accepted[p], seq)
						case Canceled:
							rejected[p] = append(rejected[p], seq)
						default:
							t.Errorf("producer %d: push = %v", p, st)
							return
						}
					}
				})
			}
			seen := make([][]stressItem, tc.consumers)
			var consumers sync.WaitGroup
			for c := range tc.consumers {
				consumers.Go(func() {
					draining := false
					for {
						var cancel <-chan struct{}
						if !draining {
							cancel = *cancels[tc.producers+c].Load()
						}
						v, st := r.Pop(cancel)
						switch st {
						case OK:
							seen[c] = append(seen[c], v)
						case Canceled:
							canceledPops.Add(1)
							if r.Closed() {
								draining = true
							} else {
								runtime.Gosched()
							}
						case Closed:
							return
						default:
							t.Errorf("consumer %d: pop = %v", c, st)
							return
						}
					}
				})
			}
			stop := make(chan struct{})
			var chaos sync.WaitGroup
			chaos.Go(func() {
				rng := rand.New(rand.NewPCG(9, 9))
				for !testIsClosed(stop) {
					i := rng.IntN(len(cancels))
					ch := make(chan struct{})
					close(*cancels[i].Swap(&ch))
					for range rng.IntN(20) {
						runtime.Gosched()
					}
				}
			})
			testWaitGroup(t, &producers, r, "producers")
			close(stop)
			chaos.Wait()
			require.True(t, r.Close())
			testWaitGroup(t, &consumers, r, "consumers")
			if t.Failed() {
				return
			}
			total := 0
			for p := range accepted {
				total += len(accepted[p])
			}
			requireCounters(t, r, 0, uint64(total), uint64(total))
			checkStressOutcome(t, tc.producers, accepted, rejected, seen)
			rej := 0
			for p := range rejected {
				rej += len(rejected[p])
			}
			t.Logf("accepted %d, canceled pushes %d, canceled pops %d", total, rej, canceledPops.Load())
		})
	}
}
