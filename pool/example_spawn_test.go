package pool_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/crewkit/crew/messaging"
	"github.com/crewkit/crew/pool"
)

// A thread is a long-lived worker with its own loop: it receives from its
// inbox and answers on its outbox until it is stopped. If it panicked or
// returned an error, it would be run again on the same ports.
func ExampleSpawn() {
	shout := func(ctx context.Context, inbox *messaging.Port[string], outbox *messaging.Port[string]) error {
		for {
			s, err := inbox.Recv(ctx)
			if err != nil {
				return err // Stop: ctx cancelled or inbox closed
			}
			if err := outbox.Send(ctx, strings.ToUpper(s)+"!"); err != nil {
				return err
			}
		}
	}
	th, err := pool.Spawn(shout, pool.SpawnOptions{Name: "shout"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, s := range []string{"hello", "worker"} {
		_ = th.Send(ctx, s)
	}
	for range 2 {
		s, _ := th.Recv(ctx)
		fmt.Println(s)
	}
	fmt.Println("stop:", th.Stop(ctx))
	fmt.Println("err:", th.Err())
	// Output:
	// HELLO!
	// WORKER!
	// stop: <nil>
	// err: <nil>
}
