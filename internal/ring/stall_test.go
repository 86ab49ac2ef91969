package ring

import (
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// A push or pop can be stopped between claiming its position and finishing
// its cell, by the Go scheduler or by the operating system. These tests stop
// one there (see Ring.stall), check that the other side neither spins on the
// cell nor misses it, then let the operation finish.

// stallNext stops the next push (push) or pop of r right after it claimed
// its position, in a goroutine of its own, which op starts. It returns once
// that operation is stopped there, with a function that lets it finish and
// a channel that receives what op returned.
func stallNext[T any, R any](r *Ring[T], push bool, op func() R) (finish func(), result <-chan R) {
	stopped := make(chan struct{})
	resume := make(chan struct{})
	hook := func(isPush bool) {
		if isPush == push {
			r.stall.Store(nil) // only this one
			close(stopped)
			<-resume
		}
	}
	r.stall.Store(&hook)
	res := make(chan R, 1)
	go func() { res <- op() }()
	<-stopped
	return func() { close(resume) }, res
}

func TestPopSleepsThroughAStalledPush(t *testing.T) {
	for _, capacity := range []int{1, 3, 64} {
		t.Run(fmt.Sprintf("cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](capacity)
				finish, pushed := stallNext(r, true, func() Status { return r.TryPushTag(42, 7) })
				_, _, st := r.PollTag()
				require.Equal(t, Empty, st, "PollTag must give up on a cell whose push has not finished")
				require.Equal(t, 1, r.Len(), "the claimed push counts in Len")

				res := startPops(r, 1, nil)
				synctest.Wait()
				require.Empty(t, res, "Pop must wait for the stalled push")
				require.EqualValues(t, 1, r.pops.Load().n.Load(), "Pop must sleep, not spin")

				finish()
				synctest.Wait()
				require.Equal(t, OK, <-pushed)
				require.Equal(t, testPopResult[int]{42, OK}, <-res, "finishing the push must wake the Pop")
				requireCounters(t, r, 0, 1, 1)
			})
		})
	}
}

func TestCloseDoesNotEndAPopWaitingForAStalledPush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New[int](4)
		finish, pushed := stallNext(r, true, func() Status { return r.TryPush(5) })
		res := startPops(r, 1, nil)
		synctest.Wait()
		r.Close()
		synctest.Wait()
		require.Empty(t, res, "an item claimed before Close is still coming")
		finish()
		synctest.Wait()
		require.Equal(t, OK, <-pushed)
		require.Equal(t, testPopResult[int]{5, OK}, <-res)
		_, st := r.Pop(nil)
		require.Equal(t, Closed, st)
	})
}

func TestPushSleepsThroughAStalledPop(t *testing.T) {
	for _, capacity := range []int{1, 3, 64} {
		t.Run(fmt.Sprintf("cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](capacity)
				for i := range capacity {
					require.Equal(t, OK, r.TryPush(i))
				}
				finish, popped := stallNext(r, false, func() testPopResult[int] {
					v, st := r.TryPop()
					return testPopResult[int]{v, st}
				})
				require.Equal(t, Full, r.OfferTag(-1, 0), "OfferTag must give up on a cell whose pop has not finished")

				res := startPushes(r, []int{capacity}, nil)
				synctest.Wait()
				require.Empty(t, res, "Push must wait for the stalled pop")
				require.EqualValues(t, 1, r.pushers.Load(), "Push must sleep, not spin")
				c := &r.buf[0]
				require.NotZero(t, c.stamp.Load()&waitBit, "the sleeping Push marks the cell it waits for")

				finish()
				synctest.Wait()
				require.Equal(t, testPopResult[int]{0, OK}, <-popped, "the stalled pop gets the oldest item")
				require.Equal(t, OK, (<-res).st, "finishing the pop must wake the Push")
				require.Zero(t, c.stamp.Load()&waitBit, "the Push's own item is not marked")
				for i := 1; i <= capacity; i++ {
					v, st := r.TryPop()
					require.Equal(t, OK, st)
					require.Equal(t, i, v, "FIFO")
				}
				requireCounters(t, r, 0, uint64(capacity+1), uint64(capacity+1))
			})
		})
	}
}

func TestPushesSleepingOnOneCellAreWokenInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New[int](2)
		require.Equal(t, OK, r.TryPush(1))
		require.Equal(t, OK, r.TryPush(2))
		res := startPushes(r, []int{3, 4}, nil)
		synctest.Wait()
		require.EqualValues(t, 2, r.pushers.Load())

		// One pop frees the cell both pushes marked: one push takes it, and
		// the other, whose mark is gone with that cell, must end up marking
		// the next one, or the pop that frees it would not wake it.
		v, st := r.TryPop()
		require.Equal(t, OK, st)
		require.Equal(t, 1, v)
		synctest.Wait()
		require.Len(t, res, 1)
		require.EqualValues(t, 1, r.pushers.Load(), "the other push sleeps on")
		require.NotZero(t, r.buf[1].stamp.Load()&waitBit, "the woken push marks the cell the other waits for")

		v, st = r.TryPop()
		require.Equal(t, OK, st)
		require.Equal(t, 2, v)
		synctest.Wait()
		require.Len(t, res, 2)
		got := []int{}
		for range 2 {
			v, st := r.TryPop()
			require.Equal(t, OK, st)
			got = append(got, v)
		}
		require.ElementsMatch(t, []int{3, 4}, got)
	})
}

// TestCanceledPushAndPopStillTakeACellHalfDone: Push promises that room
// that is there wins over its cancel, and Pop that an item that is there
// does. A cell the other side claimed but has not finished counts as there.
// Each waiter sleeps first; the test then cancels it, gives it many chances
// to give up wrongly, and only then lets the other side finish.
func TestCanceledPushAndPopStillTakeACellHalfDone(t *testing.T) {
	// yieldUntil yields until done has a value or it gave up many times.
	yieldUntil := func(done func() bool) {
		for i := 0; i < 10000 && !done(); i++ {
			runtime.Gosched()
		}
	}
	t.Run("pop", func(t *testing.T) {
		r := New[int](2)
		finish, pushed := stallNext(r, true, func() Status { return r.TryPush(8) })
		cancel := make(chan struct{})
		got := make(chan testPopResult[int], 1)
		go func() {
			v, st := r.Pop(cancel)
			got <- testPopResult[int]{v, st}
		}()
		yieldUntil(func() bool { return r.pops.Load().n.Load() == 1 }) // asleep
		close(cancel)
		yieldUntil(func() bool { return len(got) > 0 })
		finish()
		require.Equal(t, OK, <-pushed)
		require.Equal(t, testPopResult[int]{8, OK}, <-got)
	})
	t.Run("push", func(t *testing.T) {
		r := New[int](1)
		require.Equal(t, OK, r.TryPush(1))
		finish, popped := stallNext(r, false, func() testPopResult[int] {
			v, st := r.TryPop()
			return testPopResult[int]{v, st}
		})
		cancel := make(chan struct{})
		got := make(chan Status, 1)
		go func() { got <- r.Push(2, cancel) }()
		yieldUntil(func() bool { return r.pushers.Load() == 1 }) // asleep
		close(cancel)
		yieldUntil(func() bool { return len(got) > 0 })
		finish()
		require.Equal(t, testPopResult[int]{1, OK}, <-popped)
		require.Equal(t, OK, <-got)
		v, st := r.TryPop()
		require.Equal(t, OK, st)
		require.Equal(t, 2, v)
	})
}

func TestPopFindsEmptyBehindAStalledPopOfTheLapBefore(t *testing.T) {
	for _, capacity := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("cap%d", capacity), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := New[int](capacity)
				for i := range capacity {
					require.Equal(t, OK, r.TryPush(i))
				}
				// The pop of the first item claims it and stops before it
				// frees the cell; the others pop what is left, so the head
				// comes round to that cell with nothing pushed there.
				finish, popped := stallNext(r, false, func() testPopResult[int] {
					v, st := r.TryPop()
					return testPopResult[int]{v, st}
				})
				for i := 1; i < capacity; i++ {
					v, st := r.TryPop()
					require.Equal(t, testPopResult[int]{i, OK}, testPopResult[int]{v, st})
				}
				_, _, st := r.PollTag()
				require.Equal(t, Empty, st, "PollTag must not wait for the pop of the lap before")
				_, st = r.TryPop()
				require.Equal(t, Empty, st, "TryPop must not wait for the pop of the lap before")

				res := startPops(r, 1, nil)
				synctest.Wait()
				require.Empty(t, res)
				require.EqualValues(t, 1, r.pops.Load().n.Load(), "Pop must sleep, not spin")
				finish()
				require.Equal(t, testPopResult[int]{0, OK}, <-popped)
				require.Equal(t, OK, r.TryPush(9))
				synctest.Wait()
				require.Equal(t, testPopResult[int]{9, OK}, <-res)
			})
		})
	}
}
