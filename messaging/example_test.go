package messaging_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/crewkit/crew/messaging"
)

func ExamplePort() {
	ctx := context.Background()
	port := messaging.NewPort(messaging.Options[string]{Capacity: 8})

	go func() {
		defer port.Close() // receivers still get what was sent
		for _, word := range []string{"hello", "from", "a", "goroutine"} {
			if err := port.Send(ctx, word); err != nil {
				return
			}
		}
	}()

	for word := range port.C() {
		fmt.Println(word)
	}
	_, err := port.Recv(ctx)
	fmt.Println(err)
	// Output:
	// hello
	// from
	// a
	// goroutine
	// messaging: closed
}

func ExampleNewChannel() {
	ctx := context.Background()
	// The parent sends strings and receives their lengths.
	parent, worker := messaging.NewChannel[string, int](messaging.ChannelOptions{})

	go func() {
		for {
			s, err := worker.Recv(ctx)
			if err != nil {
				return // the channel was closed
			}
			_ = worker.Send(ctx, len(s))
		}
	}()

	for _, s := range []string{"go", "crew"} {
		_ = parent.Send(ctx, s)
		n, _ := parent.Recv(ctx)
		fmt.Println(s, n)
	}
	_ = parent.Close()
	// Output:
	// go 2
	// crew 4
}

func ExampleTopic() {
	ctx := context.Background()
	news := messaging.NewTopic(messaging.TopicOptions[string]{Name: "news"})
	reader := news.Subscribe(messaging.Options[string]{})
	// A subscriber that never reads keeps only the latest message.
	latest := news.Subscribe(messaging.Options[string]{Capacity: 1, Policy: messaging.DropOldest})

	for _, headline := range []string{"one", "two", "three"} {
		_ = news.Publish(ctx, headline)
	}
	_ = news.Close()

	for msg := range reader.C() {
		fmt.Println("reader:", msg)
	}
	msg, _ := latest.TryRecv()
	fmt.Println("latest:", msg, "dropped:", latest.Stats().Dropped)
	// Output:
	// reader: one
	// reader: two
	// reader: three
	// latest: three dropped: 2
}

func ExampleRequest() {
	ctx := context.Background()
	requests := messaging.NewPort(messaging.Options[*messaging.Envelope[string, string]]{})
	defer requests.Close()

	go func() {
		for env := range requests.C() {
			if env.Body == "" {
				_ = env.Decline()
				continue
			}
			_ = env.Reply(strings.ToUpper(env.Body), nil)
		}
	}()

	resp, err := messaging.Request(ctx, requests, "shout")
	fmt.Println(resp, err)
	_, err = messaging.Request(ctx, requests, "")
	fmt.Println(err)
	// Output:
	// SHOUT <nil>
	// messaging: no responder
}
