package messaging_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/crewkit/crew/messaging"
)

const benchCapacity = 64

// BenchmarkSendRecv compares a Port with a raw buffered channel of the same
// capacity: in one goroutine, then with P producers sending b.N ints in
// total to one consumer.
func BenchmarkSendRecv(b *testing.B) {
	// One goroutine sends and receives in turn: the per-message overhead
	// without any scheduling.
	b.Run("same-goroutine/raw-chan", func(b *testing.B) {
		ch := make(chan int, benchCapacity)
		b.ReportAllocs()
		for i := range b.N {
			ch <- i
			<-ch
		}
	})
	b.Run("same-goroutine/port", func(b *testing.B) {
		ctx := context.Background()
		port := messaging.NewPort(messaging.Options[int]{Capacity: benchCapacity})
		b.ReportAllocs()
		for i := range b.N {
			_ = port.Send(ctx, i)
			_, _ = port.Recv(ctx)
		}
	})
	for _, producers := range []int{1, 4} {
		b.Run(fmt.Sprintf("producers=%d/raw-chan", producers), func(b *testing.B) {
			ch := make(chan int, benchCapacity)
			runProducers(b, producers, func(i int) { ch <- i }, func() {
				for range b.N {
					<-ch
				}
			})
		})
		b.Run(fmt.Sprintf("producers=%d/port", producers), func(b *testing.B) {
			ctx := context.Background()
			port := messaging.NewPort(messaging.Options[int]{Capacity: benchCapacity})
			runProducers(b, producers, func(i int) { _ = port.Send(ctx, i) }, func() {
				for range b.N {
					_, _ = port.Recv(ctx)
				}
			})
		})
	}
}

// runProducers runs consume on its own goroutine while producers goroutines
// call send b.N times in total, and waits for both sides.
func runProducers(b *testing.B, producers int, send func(int), consume func()) {
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan struct{})
	go func() { consume(); close(done) }()
	var wg sync.WaitGroup
	for p := range producers {
		n := b.N / producers
		if p == 0 {
			n += b.N % producers
		}
		wg.Go(func() {
			for i := range n {
				send(i)
			}
		})
	}
	wg.Wait()
	<-done
}

// BenchmarkTopicFanOut publishes b.N messages to N subscribers, each drained
// by its own goroutine, against a loop over N raw buffered channels.
func BenchmarkTopicFanOut(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("subs=%d/raw-chans", n), func(b *testing.B) {
			chans := make([]chan int, n)
			var wg sync.WaitGroup
			for i := range chans {
				chans[i] = make(chan int, benchCapacity)
				wg.Go(func() {
					for range chans[i] {
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for _, ch := range chans {
					ch <- i
				}
			}
			for _, ch := range chans {
				close(ch)
			}
			wg.Wait()
		})
		b.Run(fmt.Sprintf("subs=%d/topic", n), func(b *testing.B) {
			ctx := context.Background()
			topic := messaging.NewTopic(messaging.TopicOptions[int]{})
			var wg sync.WaitGroup
			for range n {
				sub := topic.Subscribe(messaging.Options[int]{Capacity: benchCapacity})
				wg.Go(func() {
					for range sub.C() {
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				_ = topic.Publish(ctx, i)
			}
			_ = topic.Close()
			wg.Wait()
		})
	}
}

type rawRequest struct {
	body  int
	reply chan int
}

// BenchmarkRequestReply measures one request/reply round trip against a raw
// channel carrying a reply channel.
func BenchmarkRequestReply(b *testing.B) {
	b.Run("raw-chan", func(b *testing.B) {
		requests := make(chan rawRequest, benchCapacity)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for req := range requests {
				req.reply <- req.body + 1
			}
		}()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			reply := make(chan int, 1)
			requests <- rawRequest{i, reply}
			<-reply
		}
		close(requests)
		<-done
	})
	b.Run("request", func(b *testing.B) {
		ctx := context.Background()
		requests := messaging.NewPort(messaging.Options[*messaging.Envelope[int, int]]{Capacity: benchCapacity})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for env := range requests.C() {
				_ = env.Reply(env.Body+1, nil)
			}
		}()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			_, _ = messaging.Request(ctx, requests, i)
		}
		_ = requests.Close()
		<-done
	})
}
