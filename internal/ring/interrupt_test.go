package ring

import (
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/require"
)

// popResult is what a Pop returned.
type popResult struct {
	v  int
	st Status
}

// popUnless starts n goroutines that each call PopTagUnless(gen) once and
// send what it returned to the channel it returns.
func popUnless(r *Ring[int], gen uint64, n int) <-chan popResult {
	out := make(chan popResult, n)
	for range n {
		go func() {
			v, _, st := r.PopTagUnless(gen, true)
			out <- popResult{v, st}
		}()
	}
	return out
}

func TestInterrupt(t *testing.T) {
	t.Run("every sleeping PopTagUnless returns Canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := New[int](8)
			out := popUnless(r, r.Interrupts(), 5)
			synctest.Wait() // all asleep
			require.Empty(t, out)
			r.Interrupt()
			for range 5 {
				require.Equal(t, popResult{0, Canceled}, <-out)
			}
		})
	})
	t.Run("a PopTagUnless that counted the interrupts before the last one returns at once", func(t *testing.T) {
		r := New[int](8)
		gen := r.Interrupts()
		r.Interrupt()
		require.Equal(t, gen+1, r.Interrupts())
		_, _, st := r.PopTagUnless(gen, true)
		require.Equal(t, Canceled, st)
	})
	t.Run("an item that is there wins over the interrupt", func(t *testing.T) {
		r := New[int](8)
		gen := r.Interrupts()
		r.Interrupt()
		require.Equal(t, OK, r.TryPush(7))
		v, _, st := r.PopTagUnless(gen, true)
		require.Equal(t, OK, st)
		require.Equal(t, 7, v)
	})
	t.Run("Pops that sleep after the interrupt do not stop it from waking the ones before", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := New[int](8)
			old := popUnless(r, r.Interrupts(), 4)
			synctest.Wait()
			r.Interrupt()
			// Pops with the new count arrive while the old ones wake one
			// after the other; they must not take the token that wakes
			// the next old one.
			fresh := popUnless(r, r.Interrupts(), 4)
			for range 4 {
				require.Equal(t, popResult{0, Canceled}, <-old)
			}
			synctest.Wait()
			require.Empty(t, fresh, "the new Pops sleep on")
			for i := range 4 {
				require.Equal(t, OK, r.TryPush(i))
			}
			got := map[int]bool{}
			for range 4 {
				res := <-fresh
				require.Equal(t, OK, res.st)
				got[res.v] = true
			}
			require.Len(t, got, 4, "each item went to one Pop")
		})
	})
	t.Run("PopTag sleeps on through an interrupt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := New[int](8)
			out := make(chan popResult, 1)
			go func() {
				v, st := r.Pop(nil)
				out <- popResult{v, st}
			}()
			synctest.Wait()
			r.Interrupt()
			synctest.Wait()
			require.Empty(t, out)
			require.Equal(t, OK, r.TryPush(3))
			require.Equal(t, popResult{3, OK}, <-out)
		})
	})
	t.Run("Close ends sleeping PopTagUnless with Closed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := New[int](8)
			out := popUnless(r, r.Interrupts(), 3)
			synctest.Wait()
			r.Close()
			for range 3 {
				require.Equal(t, popResult{0, Closed}, <-out)
			}
		})
	})
}
