package ring

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRandomStallsBetweenClaimAndFinish stops pushes and pops at random
// between claiming a position and finishing its cell, under producers and
// consumers using every form (Push and PushTag with cancels, OfferTag,
// TryPush; Pop, PopTag with cancels): every accepted item must be
// popped exactly once, and no one may sleep forever.
func TestRandomStallsBetweenClaimAndFinish(t *testing.T) {
	for _, capacity := range []int{1, 2, 3, 8} {
		for iter := 0; iter < 20; iter++ {
			r := New[int](capacity)
			var ctr atomic.Uint64
			hook := func(bool) {
				switch ctr.Add(1) % 7 {
				case 0:
					for range rand.IntN(50) { // a long stall, as when preempted
						runtime.Gosched()
					}
				case 1, 2:
					runtime.Gosched()
				}
			}
			r.stall.Store(&hook)
			const producers, per, consumers = 4, 300, 3
			var accepted, popped atomic.Int64
			var sum, got atomic.Int64
			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					for i := range per {
						v := p*100000 + i + 1
						var st Status
						switch rand.IntN(4) {
						case 0:
							st = r.Push(v, nil)
						case 1:
							c := make(chan struct{})
							if rand.IntN(3) == 0 {
								close(c)
							}
							st = r.PushTag(v, 1, c)
						case 2:
							for st = r.OfferTag(v, 0); st == Full; st = r.OfferTag(v, 0) {
								runtime.Gosched()
							}
						default:
							for st = r.TryPush(v); st == Full; st = r.TryPush(v) {
								runtime.Gosched()
							}
						}
						if st == OK {
							accepted.Add(1)
							sum.Add(int64(v))
						}
					}
				})
			}
			var cwg sync.WaitGroup
			for range consumers {
				cwg.Go(func() {
					for {
						var v int
						var st Status
						switch rand.IntN(2) {
						case 0:
							v, st = r.Pop(nil)
						default:
							c := make(chan struct{})
							if rand.IntN(3) == 0 {
								close(c)
							}
							v, _, st = r.PopTag(c)
							if st == Canceled {
								continue
							}
						}
						if st == Closed {
							return
						}
						if st != OK {
							t.Errorf("pop %v", st)
							return
						}
						popped.Add(1)
						got.Add(int64(v))
					}
				})
			}
			done := make(chan struct{})
			go func() { wg.Wait(); r.Close(); cwg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(stuckTimeout):
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Fatalf("stuck: cap %d accepted %d popped %d pushers %d poppers %d len %d\n%s", capacity, accepted.Load(), popped.Load(), r.pushers.Load(), r.pops.Load().n.Load(), r.Len(), buf[:n])
			}
			if accepted.Load() != popped.Load() || sum.Load() != got.Load() {
				t.Fatalf("cap %d: accepted %d popped %d", capacity, accepted.Load(), popped.Load())
			}
		}
	}
}
