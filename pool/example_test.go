package pool_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crewkit/crew/pool"
)

// wordCounter is a stateful worker: it remembers how many words it has seen.
type wordCounter struct{ seen int }

func (w *wordCounter) Handle(_ context.Context, text string) (int, error) {
	n := len(strings.Fields(text))
	w.seen += n
	return n, nil
}

func ExampleNew() {
	p, err := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[string, int], error) {
		return &wordCounter{}, nil
	}, pool.Options{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	n, err := p.Run(context.Background(), "one process, many workers")
	fmt.Println(n, err)
	// Output: 4 <nil>
}

func ExampleNewFunc() {
	square, err := pool.NewFunc(func(_ context.Context, x int) (int, error) { return x * x, nil }, pool.Options{})
	if err != nil {
		panic(err)
	}
	defer square.Close(context.Background())

	out, _ := square.Run(context.Background(), 12)
	fmt.Println(out)
	// Output: 144
}

func ExamplePool_Run() {
	p, _ := pool.NewFunc(func(_ context.Context, s string) (string, error) {
		if s == "" {
			panic("empty input")
		}
		return strings.ToUpper(s), nil
	}, pool.Options{})
	defer p.Close(context.Background())

	out, err := p.Run(context.Background(), "hello")
	fmt.Println(out, err)

	// A panic fails only its own task, with the stack, and the pool goes on.
	_, err = p.Run(context.Background(), "")
	var pe *pool.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)
	// Output:
	// HELLO <nil>
	// true empty input
}

func ExamplePool_Submit() {
	p, _ := pool.NewFunc(func(_ context.Context, x int) (int, error) { return x + 1, nil }, pool.Options{})
	defer p.Close(context.Background())

	var futures []*pool.Future[int]
	for i := range 3 {
		f, err := p.Submit(context.Background(), i*10)
		if err != nil {
			panic(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		out, _ := f.Wait(context.Background())
		fmt.Println(out)
	}
	// Output:
	// 1
	// 11
	// 21
}

func ExamplePool_Close() {
	p, _ := pool.NewFunc(func(_ context.Context, x int) (int, error) { return x, nil }, pool.Options{})
	f, _ := p.Submit(context.Background(), 42)

	// Close drains queued work, then stops every worker.
	fmt.Println(p.Close(context.Background()))
	out, _ := f.Wait(context.Background())
	fmt.Println(out)
	_, err := p.Run(context.Background(), 1)
	fmt.Println(errors.Is(err, pool.ErrClosed))
	// Output:
	// <nil>
	// 42
	// true
}

func ExampleRestartPolicy() {
	attempts := 0
	p, _ := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[int, int], error) {
		attempts++
		return nil, errors.New("database unreachable")
	}, pool.Options{MaxWorkers: 1, Restart: pool.RestartPolicy{
		InitialBackoff: 1, MaxBackoff: 1, MaxRestarts: 3, Period: 1 << 62}})
	defer p.Close(context.Background())

	// The factory keeps failing: after 3 rebuilds the pool fails loudly
	// instead of retrying forever.
	_, err := p.Run(context.Background(), 1)
	fmt.Println(errors.Is(err, pool.ErrPoolFailed), attempts)
	// Output: true 4
}

func ExamplePool_Reload() {
	p, _ := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
		return pool.Func[int, int](func(context.Context, int) (int, error) { return info.ID, nil }), nil
	}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
	defer p.Close(context.Background())

	before, _ := p.Run(context.Background(), 0)
	_ = p.Reload(context.Background()) // build a fresh worker, then retire the old one
	after, _ := p.Run(context.Background(), 0)
	fmt.Println(before, after)
	// Output: 1 2
}

func ExampleCall() {
	tasks, _ := pool.NewTasks(pool.Options{})
	defer tasks.Close(context.Background())

	sum, err := pool.Call(context.Background(), tasks, func(context.Context) (int, error) {
		total := 0
		for i := 1; i <= 100; i++ {
			total += i
		}
		return total, nil
	})
	fmt.Println(sum, err)
	// Output: 5050 <nil>
}

// An HTTP handler sheds load with TryRun: it answers ErrQueueFull at once
// when the queue is full, and otherwise gets its result with the request's
// ctx, which the task sees cancelled if the client leaves.
func ExamplePool_TryRun() {
	p, _ := pool.NewFunc(func(_ context.Context, n int) (int, error) { return n * n, nil },
		pool.Options{MaxWorkers: 1, QueueSize: 1})
	defer p.Close(context.Background())

	ctx, cancel := context.WithCancel(context.Background()) // a request's ctx
	defer cancel()
	out, err := p.TryRun(ctx, 12)
	if errors.Is(err, pool.ErrQueueFull) {
		fmt.Println("busy: answer 503")
		return
	}
	fmt.Println(out, err)
	// Output: 144 <nil>
}
