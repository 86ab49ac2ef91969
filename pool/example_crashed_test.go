package pool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crewkit/crew/pool"
)

// ExampleWorkerInfo_Crashed shows a worker kind whose work lives outside
// the pool (a connection to a remote member, say) reporting that it died
// while no task was running: the pool counts a crash and rebuilds the
// worker at once, before any task finds it dead.
func ExampleWorkerInfo_Crashed() {
	built := make(chan pool.WorkerInfo, 2)
	restarted := make(chan pool.Event, 1)
	p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[string, string], error) {
		// A real worker kind would watch its connection and call
		// info.Crashed when it drops; this one hands info out.
		built <- info
		return pool.Func[string, string](func(_ context.Context, s string) (string, error) {
			return strings.ToUpper(s), nil
		}), nil
	}, pool.Options{MinWorkers: 1, MaxWorkers: 1, OnEvent: func(e pool.Event) {
		if e.Kind == pool.WorkerRestarted {
			restarted <- e
		}
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	first := <-built
	first.Crashed(errors.New("connection to member 1 dropped"))
	e := <-restarted
	fmt.Printf("worker %d: %v\n", e.Worker, e.Err)
	fmt.Println("rebuilt as worker", (<-built).ID)
	fmt.Println("restarts:", p.Stats().Restarts)
	out, err := p.Run(context.Background(), "still serving")
	fmt.Println(out, err)
	_ = p.Close(context.Background())
	// Output:
	// worker 1: connection to member 1 dropped
	// rebuilt as worker 2
	// restarts: 1
	// STILL SERVING <nil>
}
