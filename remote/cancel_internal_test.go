package remote

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCancels(t *testing.T) {
	t.Run("a cancel ends the ctx of the task it names", func(t *testing.T) {
		var c cancels
		ctx, cancel := context.WithCancel(context.Background())
		key := taskKey{reply: "_INBOX.a", attempt: 3}
		require.True(t, c.add(key, cancel))
		c.cancel(taskKey{reply: "_INBOX.a", attempt: 2}, time.Now())
		require.NoError(t, ctx.Err(), "another attempt's cancel")
		c.cancel(key, time.Now())
		require.ErrorIs(t, ctx.Err(), context.Canceled)
	})
	t.Run("a cancel that overtakes its request keeps the task from starting", func(t *testing.T) {
		var c cancels
		key := taskKey{reply: "_INBOX.b", attempt: 1}
		c.cancel(key, time.Now())
		_, cancel := context.WithCancel(context.Background())
		defer cancel()
		require.False(t, c.add(key, cancel))
		require.True(t, c.add(key, cancel), "the early cancel is used once")
	})
	t.Run("early cancels are kept for earlyTTL and at most earlyKept of them", func(t *testing.T) {
		var c cancels
		start := time.Now()
		for i := range earlyKept {
			c.cancel(taskKey{reply: fmt.Sprint(i), attempt: 1}, start)
		}
		c.cancel(taskKey{reply: "over", attempt: 1}, start.Add(earlyTTL))
		require.Len(t, c.early, earlyKept, "a cancel past the bound within earlyTTL is dropped")
		_, cancel := context.WithCancel(context.Background())
		defer cancel()
		require.True(t, c.add(taskKey{reply: "over", attempt: 1}, cancel))

		c.cancel(taskKey{reply: "later", attempt: 1}, start.Add(earlyTTL+time.Millisecond))
		require.Len(t, c.early, 1, "the older ones were swept")
		require.False(t, c.add(taskKey{reply: "later", attempt: 1}, cancel))
	})
}
