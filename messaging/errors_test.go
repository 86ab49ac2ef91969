package messaging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crewkit/crew/messaging"
	"github.com/stretchr/testify/require"
)

func TestErrorTexts(t *testing.T) {
	cases := []struct {
		name string
		err  func(t *testing.T) error
		want string
		is   []error
	}{
		{"a closed unnamed port is the bare sentinel", func(*testing.T) error {
			port := messaging.NewPort(messaging.Options[int]{})
			require.NoError(t, port.Close())
			return port.TrySend(1)
		}, "messaging: closed", []error{messaging.ErrClosed}},
		{"a closed named port names it once", func(*testing.T) error {
			port := messaging.NewPort(messaging.Options[int]{Name: "jobs"})
			require.NoError(t, port.Close())
			return port.Send(t.Context(), 1)
		}, `messaging: port "jobs": closed`, []error{messaging.ErrClosed}},
		{"a full named port says full once", func(*testing.T) error {
			port := messaging.NewPort(messaging.Options[int]{Capacity: 1, Policy: messaging.Fail, Name: "jobs"})
			require.NoError(t, port.TrySend(1))
			return port.TrySend(2)
		}, `messaging: port "jobs": full`, []error{messaging.ErrFull}},
		{"a request to a closed named port", func(*testing.T) error {
			port := messaging.NewPort(messaging.Options[*messaging.Envelope[int, int]]{Name: "rpc"})
			require.NoError(t, port.Close())
			_, err := messaging.Request(t.Context(), port, 1)
			return err
		}, `messaging: no responder: port "rpc": closed`, []error{messaging.ErrNoResponder, messaging.ErrClosed}},
		{"a publish that missed some and found others full is one line", func(*testing.T) error {
			topic := messaging.NewTopic(messaging.TopicOptions[int]{Name: "news"})
			defer topic.Close()
			topic.Subscribe(messaging.Options[int]{Capacity: 1, Policy: messaging.Fail})
			topic.Subscribe(messaging.Options[int]{Capacity: 1})
			require.NoError(t, topic.Publish(t.Context(), 1))
			ctx, cancel := context.WithDeadline(t.Context(), time.Now()) // already past
			defer cancel()
			return topic.Publish(ctx, 2)
		}, `messaging: topic "news": 1 of 2 subscribers missed the message: context deadline exceeded; 1 of 2 subscribers full`,
			[]error{messaging.ErrFull, context.DeadlineExceeded}},
		{"a closed unnamed topic", func(*testing.T) error {
			topic := messaging.NewTopic(messaging.TopicOptions[int]{})
			require.NoError(t, topic.Close())
			return topic.Publish(t.Context(), 1)
		}, "messaging: closed", []error{messaging.ErrClosed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err(t)
			require.EqualError(t, err, c.want)
			msg := err.Error()
			require.NotContains(t, msg, "\n", "one line")
			require.True(t, strings.HasPrefix(msg, "messaging: "), "starts with the package")
			require.Equal(t, 1, strings.Count(msg, "messaging"), "says messaging once")
			for _, target := range c.is {
				require.ErrorIs(t, err, target)
			}
		})
	}
}
