package ring

import (
	"fmt"
	"sync"
	"testing"
)

// benchSink keeps the compiler from discarding popped values.
var benchSink int

// BenchmarkRing compares the ring with a buffered channel of the same
// capacity: a push and a pop from one goroutine, and 1 or 4 producers
// feeding a single consumer with blocking Push/Pop (nil cancel) versus
// channel send/receive. One op is one item moved.
func BenchmarkRing(b *testing.B) {
	const capacity = 64

	b.Run("SameGoroutine/ring", func(b *testing.B) {
		r := New[int](capacity)
		b.ReportAllocs()
		b.ResetTimer()
		sum := 0
		for i := range b.N {
			if st := r.Push(i, nil); st != OK {
				b.Fatalf("Push = %v", st)
			}
			v, st := r.Pop(nil)
			if st != OK {
				b.Fatalf("Pop = %v", st)
			}
			sum += v
		}
		benchSink = sum
	})
	b.Run("SameGoroutine/chan", func(b *testing.B) {
		ch := make(chan int, capacity)
		b.ReportAllocs()
		b.ResetTimer()
		sum := 0
		for i := range b.N {
			ch <- i
			sum += <-ch
		}
		benchSink = sum
	})

	for _, producers := range []int{1, 4} {
		b.Run(fmt.Sprintf("Producers=%d/ring", producers), func(b *testing.B) {
			r := New[int](capacity)
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := range producers {
				n := benchShare(b.N, producers, p)
				wg.Go(func() {
					for i := range n {
						if st := r.Push(i, nil); st != OK {
							b.Errorf("Push = %v", st)
							return
						}
					}
				})
			}
			sum := 0
			for range b.N {
				v, st := r.Pop(nil)
				if st != OK {
					b.Errorf("Pop = %v", st)
					break
				}
				sum += v
			}
			b.StopTimer()
			r.Close()
			wg.Wait()
			benchSink = sum
		})
		b.Run(fmt.Sprintf("Producers=%d/chan", producers), func(b *testing.B) {
			ch := make(chan int, capacity)
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := range producers {
				n := benchShare(b.N, producers, p)
				wg.Go(func() {
					for i := range n {
						ch <- i
					}
				})
			}
			sum := 0
			for range b.N {
				sum += <-ch
			}
			b.StopTimer()
			wg.Wait()
			benchSink = sum
		})
	}
}

// benchShare is producer p's part of n items split among k producers.
func benchShare(n, k, p int) int {
	s := n / k
	if p < n%k {
		s++
	}
	return s
}
