package messaging_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/messaging"
)

func TestTopicDelivery(t *testing.T) {
	t.Run("every subscriber receives every message in order", func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[int]{})
		subs := []*messaging.Subscription[int]{
			topic.Subscribe(messaging.Options[int]{}),
			topic.Subscribe(messaging.Options[int]{Capacity: 3, Policy: messaging.Fail}),
		}
		for i := range 3 {
			require.NoError(t, topic.Publish(t.Context(), i))
		}
		for _, s := range subs {
			require.Equal(t, 3, s.Len())
			for i := range 3 {
				got, err := s.Recv(t.Context())
				require.NoError(t, err)
				require.Equal(t, i, got)
			}
		}
		require.NoError(t, topic.Close())
	})

	t.Run("a never-reading DropOldest subscriber does not stall Publish to the others", func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[int]{})
		slow := topic.Subscribe(messaging.Options[int]{Capacity: 1, Policy: messaging.DropOldest})
		fast := topic.Subscribe(messaging.Options[int]{Capacity: 1})
		received := make(chan []int)
		go func() {
			var got []int
			for msg := range fast.C() {
				got = append(got, msg)
			}
			received <- got
		}()
		for i := range 100 {
			require.NoError(t, topic.Publish(t.Context(), i))
		}
		require.NoError(t, topic.Close())
		require.Len(t, <-received, 100)
		got, ok := slow.TryRecv()
		require.True(t, ok)
		require.Equal(t, 99, got, "the slow subscriber keeps the newest message")
		require.Equal(t, uint64(99), slow.Stats().Dropped)
		stats := topic.Stats()
		require.Equal(t, uint64(100), stats.Published)
		require.Equal(t, uint64(200), stats.Delivered)
		require.Equal(t, uint64(99), stats.Dropped)
	})

	t.Run("a full Block subscriber stalls Publish only until ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			topic := messaging.NewTopic(messaging.TopicOptions[int]{})
			stuck := topic.Subscribe(messaging.Options[int]{Capacity: 1})
			other := topic.Subscribe(messaging.Options[int]{Capacity: 4, Policy: messaging.DropNewest})
			require.NoError(t, topic.Publish(t.Context(), 1))

			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			err := topic.Publish(ctx, 2)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorContains(t, err, "1 of 2 subscribers missed the message")
			require.Equal(t, 2, other.Len(), "the other subscriber got the message first")
			require.Equal(t, 1, stuck.Len())
			require.Equal(t, uint64(1), topic.Stats().Failed)
			require.NoError(t, topic.Close())
		})
	})

	t.Run("full Fail subscribers make Publish say how many, matching ErrFull", func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[int]{Name: "news"})
		for range 2 {
			topic.Subscribe(messaging.Options[int]{Capacity: 1, Policy: messaging.Fail})
		}
		topic.Subscribe(messaging.Options[int]{Capacity: 4})
		require.NoError(t, topic.Publish(t.Context(), 1))
		err := topic.Publish(t.Context(), 2)
		require.ErrorIs(t, err, messaging.ErrFull)
		require.EqualError(t, err, `messaging: topic "news": 2 of 3 subscribers full`)
		require.NoError(t, topic.Close())
	})

	t.Run("Clone gives each subscriber its own copy", func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[[]int]{Clone: func(s []int) []int {
			return append([]int(nil), s...)
		}})
		a := topic.Subscribe(messaging.Options[[]int]{})
		b := topic.Subscribe(messaging.Options[[]int]{})
		msg := []int{1}
		require.NoError(t, topic.Publish(t.Context(), msg))
		gotA, _ := a.TryRecv()
		gotB, _ := b.TryRecv()
		gotA[0] = 2
		require.Equal(t, []int{1}, gotB)
		require.Equal(t, []int{1}, msg)
		require.NoError(t, topic.Close())
	})
}

func TestTopicLifecycle(t *testing.T) {
	t.Run("Unsubscribe releases a Publish waiting on that subscriber", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			topic := messaging.NewTopic(messaging.TopicOptions[int]{})
			sub := topic.Subscribe(messaging.Options[int]{Capacity: 1})
			require.NoError(t, topic.Publish(t.Context(), 1))
			errc := make(chan error)
			go func() { errc <- topic.Publish(context.Background(), 2) }()
			synctest.Wait()
			sub.Unsubscribe()
			require.NoError(t, <-errc)
			require.Equal(t, []int{1}, drainSub(t, sub))
			require.Equal(t, 0, topic.Stats().Subscribers)
			sub.Unsubscribe()
		})
	})

	t.Run("subscribing and unsubscribing during Publish neither deadlocks nor panics", func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[int]{})
		topic.Subscribe(messaging.Options[int]{Capacity: 1, Policy: messaging.DropOldest})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := range 300 {
					require.NoError(t, topic.Publish(t.Context(), i))
				}
			})
			wg.Go(func() {
				policies := []messaging.Policy{messaging.Block, messaging.DropOldest, messaging.DropNewest}
				for i := range 100 {
					sub := topic.Subscribe(messaging.Options[int]{Capacity: 1, Policy: policies[i%3]})
					sub.TryRecv()
					sub.Unsubscribe()
				}
			})
		}
		wg.Wait()
		require.Equal(t, uint64(1200), topic.Stats().Published)
		require.Equal(t, 1, topic.Stats().Subscribers)
		require.NoError(t, topic.Close())
	})

	t.Run("after Close, Publish returns ErrClosed and subscribers drain", func(t *testing.T) {
		topic := messaging.NewTopic(messaging.TopicOptions[string]{})
		sub := topic.Subscribe(messaging.Options[string]{})
		require.NoError(t, topic.Publish(t.Context(), "last"))
		require.NoError(t, topic.Close())
		require.NoError(t, topic.Close(), "Close is idempotent")
		require.ErrorIs(t, topic.Publish(t.Context(), "late"), messaging.ErrClosed)
		require.Equal(t, []string{"last"}, drainSub(t, sub))

		late := topic.Subscribe(messaging.Options[string]{})
		_, err := late.Recv(t.Context())
		require.ErrorIs(t, err, messaging.ErrClosed, "subscribing to a closed topic gives a closed subscription")
		stats := topic.Stats()
		require.True(t, stats.Closed)
		require.Equal(t, 0, stats.Subscribers)
	})
}

// drainSub receives from sub until it reports ErrClosed.
func drainSub[T any](t *testing.T, sub *messaging.Subscription[T]) []T {
	t.Helper()
	var got []T
	for {
		msg, err := sub.Recv(t.Context())
		if err != nil {
			require.ErrorIs(t, err, messaging.ErrClosed)
			return got
		}
		got = append(got, msg)
	}
}

func TestTopicDroppedCount(t *testing.T) {
	// Each publisher's DropOldest offer may evict, find the room taken by
	// another publisher, and evict again: every eviction is a drop.
	for _, mode := range []struct {
		name    string
		channel bool
	}{{"ring", false}, {"channel", true}} {
		t.Run("Dropped counts every eviction with concurrent publishers ("+mode.name+" mode)", func(t *testing.T) {
			const publishers, each = 8, 2000
			topic := messaging.NewTopic(messaging.TopicOptions[int]{})
			sub := topic.Subscribe(messaging.Options[int]{Capacity: 1, Policy: messaging.DropOldest})
			if mode.channel {
				_ = sub.C() // switch the port to a channel; nobody receives
			}
			var wg sync.WaitGroup
			for range publishers {
				wg.Go(func() {
					for i := range each {
						require.NoError(t, topic.Publish(t.Context(), i))
					}
				})
			}
			wg.Wait()
			stats := topic.Stats()
			require.Equal(t, uint64(publishers*each), stats.Published)
			require.Equal(t, uint64(publishers*each), stats.Delivered, "every message was buffered once")
			require.Equal(t, sub.Stats().Dropped, stats.Dropped, "the topic counts what the port counts")
			require.Equal(t, uint64(publishers*each-sub.Len()), stats.Dropped, "every message not buffered now was dropped")
			require.NoError(t, topic.Close())
		})
	}
}
