package ring

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestYieldWhileAnotherPopYields covers who yields before sleeping while
// another Pop is yielding already. On one processor, a goroutine started
// before the Pop runs only when the Pop yields or sleeps: the pusher
// records how many Pops were asleep when it pushed.
func TestYieldWhileAnotherPopYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	pushWhile := func(r *Ring[int]) <-chan int32 {
		asleep := make(chan int32, 1)
		go func() {
			asleep <- r.pops.Load().n.Load()
			r.TryPush(7) // the Pop checks it got 7
		}()
		return asleep
	}

	t.Run("PopTagUnless asked to yield yields even then, and takes the item without sleeping", func(t *testing.T) {
		r := New[int](4)
		r.yielder.Store(true) // another Pop is yielding
		asleep := pushWhile(r)
		v, _, st := r.PopTagUnless(r.Interrupts(), true)
		require.Equal(t, OK, st)
		require.Equal(t, 7, v)
		require.Zero(t, <-asleep, "the pusher ran during a yield, with no Pop asleep")
	})

	t.Run("PopTag leaves the yielding to the Pop that yields already, and sleeps", func(t *testing.T) {
		r := New[int](4)
		r.yielder.Store(true)
		asleep := pushWhile(r)
		v, st := r.Pop(nil)
		require.Equal(t, OK, st)
		require.Equal(t, 7, v)
		require.EqualValues(t, 1, <-asleep, "the pusher ran once the Pop slept, and woke it")
	})
}
