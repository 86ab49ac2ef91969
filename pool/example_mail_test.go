package pool_test

import (
	"context"
	"fmt"

	"github.com/crewkit/crew/pool"
)

// scorer weighs its input by a factor the owner can change while it runs.
type scorer struct{ factor int }

func (s *scorer) Handle(_ context.Context, n int) (int, error) { return n * s.factor, nil }

// Receive takes a new factor between two tasks: no lock is needed.
func (s *scorer) Receive(_ context.Context, msg any) error {
	if f, ok := msg.(int); ok {
		s.factor = f
	}
	return nil
}

// Broadcast sends a message to every live worker, as Node's
// worker.postMessage does to one; a worker that implements pool.Receiver
// gets it between two tasks.
func ExamplePool_Broadcast() {
	p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
		return &scorer{factor: 1}, nil
	}, pool.Options{MaxWorkers: 1, MinWorkers: 1})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	before, _ := p.Run(context.Background(), 21)
	n, _ := p.Broadcast(2)
	// The message arrives before the worker's next task.
	after, _ := p.Run(context.Background(), 21)
	fmt.Println(before, n, after)
	// Output: 21 1 42
}
