package messaging_test

// Regression tests for bugs found in review: each failed before its fix.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/messaging"
)

// Publish returned nil (accepted) but the message reached no subscriber,
// although the only subscriber was subscribed before Publish started and
// was never unsubscribed: the topic was closed concurrently, and Publish
// loaded the emptied subscriber list after Close had swapped it.
func TestRegressionPublishNilAfterClose(t *testing.T) {
	for round := range 100 {
		topic := messaging.NewTopic(messaging.TopicOptions[int]{})
		sub := topic.Subscribe(messaging.Options[int]{Capacity: 1 << 14})
		const P = 4
		okd := make([][]int, P)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for p := range P {
			wg.Go(func() {
				<-start
				for i := 0; i < 2000; i++ {
					if p == 0 && i == 20 {
						topic.Close()
					}
					err := topic.Publish(context.Background(), p<<20|i)
					if errors.Is(err, messaging.ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("unexpected %v", err)
						return
					}
					okd[p] = append(okd[p], p<<20|i)
				}
			})
		}
		close(start)
		wg.Wait()
		got := map[int]bool{}
		for m := range sub.C() {
			got[m] = true
		}
		for p := range P {
			for _, m := range okd[p] {
				if !got[m] {
					t.Fatalf("round %d: Publish(%#x) returned nil, yet the subscriber never got it (stats %+v)", round, m, topic.Stats())
				}
			}
		}
	}
}

// A subscriber that Unsubscribed while Publish was waiting on another, full
// Block subscriber is counted as Failed and reported as "missed ... ctx
// error" once ctx ends, although it was never full when ctx ended: it was
// gone. Failed drifts and the error overstates the number of missed
// subscribers.
func TestRegressionPublishCountsUnsubscribedAsFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[int]{})
		a := topic.Subscribe(messaging.Options[int]{Capacity: 1})
		b := topic.Subscribe(messaging.Options[int]{Capacity: 1})
		if err := topic.Publish(t.Context(), 0); err != nil { // both full now
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- topic.Publish(ctx, 1) }()
		synctest.Wait() // Publish waits on a
		b.Unsubscribe() // b leaves; it must not count as a failed delivery
		err := <-errc
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if got := topic.Stats().Failed; got != 1 {
			t.Errorf("Failed = %d, want 1 (only a missed it because ctx ended); err = %v", got, err)
		}
		topic.Close()
		_ = a
	})
}

// An envelope port under DropNewest/DropOldest panics when the dropped value
// is a nil *Envelope (drop -> decline -> Reply dereferences a nil receiver).
func TestRegressionDropNilEnvelopePanics(t *testing.T) {
	port := messaging.NewPort(messaging.Options[*messaging.Envelope[int, int]]{Capacity: 1, Policy: messaging.DropNewest})
	_ = port.TrySend(nil)
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("TrySend panicked: %v", r)
		}
	}()
	_ = port.TrySend(nil)
}

// Publish clones a message twice for a full Block subscriber: once for the
// non-blocking attempt (copy discarded without OnDrop) and again for the
// blocking one. A Clone with side effects (refcount, pooled buffer) leaks.
func TestRegressionPublishClonesTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var clones atomic.Int32
		topic := messaging.NewTopic(messaging.TopicOptions[int]{Clone: func(v int) int { clones.Add(1); return v }})
		sub := topic.Subscribe(messaging.Options[int]{Capacity: 1})
		_ = topic.Publish(t.Context(), 0)
		clones.Store(0)
		done := make(chan error)
		go func() { done <- topic.Publish(t.Context(), 1) }()
		synctest.Wait()
		_, _ = sub.TryRecv()
		<-done
		if n := clones.Load(); n != 1 {
			t.Errorf("one delivery, %d clones", n)
		}
		topic.Close()
	})
}
