package remote_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
)

// A member serves a local pool; a caller's pool sends it tasks. Both run in
// one process here, on an embedded server; across machines they connect to
// the same NATS servers instead.
func Example() {
	srv, err := remote.NewServer(remote.ServerOptions{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	// The member side: a pool of local workers behind the "upper" service.
	mc, _ := srv.Connect()
	defer mc.Close()
	work, _ := pool.NewFunc(func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	}, pool.Options{})
	defer work.Close(context.Background())
	member, _ := remote.Serve(mc, "upper", work, remote.MemberOptions{})
	defer member.Stop(context.Background())

	// The caller side: the same pool API, the work done by members.
	cc, _ := srv.Connect()
	defer cc.Close()
	p, _ := pool.New(remote.Factory[string, string](cc, "upper", remote.Options{}), pool.Options{MaxWorkers: 8})
	defer p.Close(context.Background())

	out, err := p.Run(context.Background(), "hello")
	fmt.Println(out, err)
	// Output: HELLO <nil>
}

// In durable mode tasks go through a JetStream work queue: a member
// acknowledges each one after it ran, and a member's death hands its tasks
// to another member.
func ExampleDurableFactory() {
	srv, err := remote.NewServer(remote.ServerOptions{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	mc, _ := srv.Connect()
	defer mc.Close()
	work, _ := pool.NewFunc(func(_ context.Context, n int) (int, error) { return n * n, nil }, pool.Options{})
	defer work.Close(context.Background())
	member, err := remote.ServeDurable(context.Background(), mc, "square", work, remote.DurableOptions{})
	if err != nil {
		panic(err)
	}
	defer member.Stop(context.Background())

	cc, _ := srv.Connect()
	defer cc.Close()
	p, _ := pool.New(remote.DurableFactory[int, int](cc, "square", remote.DurableOptions{}), pool.Options{MaxWorkers: 4})
	defer p.Close(context.Background())

	out, err := p.Run(remote.WithTaskID(context.Background(), "square-7"), 7)
	fmt.Println(out, err)
	// Output: 49 <nil>
}

// settings is a member worker that takes new settings from the pool's owner
// between two tasks.
type settings struct {
	prefix string
	seen   chan<- string
}

func (w *settings) Handle(_ context.Context, s string) (string, error) { return w.prefix + s, nil }

func (w *settings) Receive(_ context.Context, msg any) error {
	w.prefix = msg.(string)
	w.seen <- w.prefix
	return nil
}

// A message to a remote service reaches every worker of every member that
// implements pool.Receiver, between two tasks: here one member's only
// worker, which changes what it answers.
func ExampleBroadcast() {
	srv, err := remote.NewServer(remote.ServerOptions{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	mc, _ := srv.Connect()
	defer mc.Close()
	seen := make(chan string, 1)
	work, _ := pool.New(func(context.Context, pool.WorkerInfo) (pool.Worker[string, string], error) {
		return &settings{prefix: "v1 ", seen: seen}, nil
	}, pool.Options{MinWorkers: 1, MaxWorkers: 1})
	defer work.Close(context.Background())
	member, _ := remote.Serve(mc, "greet", work, remote.MemberOptions{})
	defer member.Stop(context.Background())

	cc, _ := srv.Connect()
	defer cc.Close()
	p, _ := pool.New(remote.Factory[string, string](cc, "greet", remote.Options{}), pool.Options{})
	defer p.Close(context.Background())

	if err := remote.Broadcast(cc, "greet", "v2 ", nil); err != nil {
		panic(err)
	}
	<-seen // the member's worker has it
	out, err := p.Run(context.Background(), "hello")
	fmt.Println(out, err)
	// Output: v2 hello <nil>
}
