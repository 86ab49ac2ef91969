package proc_test

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

// A pool whose workers are a separate binary: testdata/upper's main calls
// proc.Serve with a factory of upper-casing workers. upperBin is its path,
// built by TestMain.
func ExampleFactory() {
	factory := proc.Factory[string, string](func() *exec.Cmd { return exec.Command(upperBin) }, proc.Options{})
	p, err := pool.New(factory, pool.Options{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	out, err := p.Run(context.Background(), "hello from a child process")
	fmt.Println(out, err)
	// Output: HELLO FROM A CHILD PROCESS <nil>
}

// A pool whose workers are this same binary, started again in the role
// "upper". The binary's main (here TestMain) begins with
//
//	if proc.Role() == "upper" {
//		err := proc.Serve(ctx, upperFactory, proc.ServeOptions{})
//		...
//		os.Exit(0)
//	}
//
// so that a child serves the worker and never reaches the rest of main.
func ExampleSelf() {
	p, err := pool.New(proc.Factory[string, string](proc.Self("upper"), proc.Options{}), pool.Options{MaxWorkers: 2})
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	out, err := p.Run(context.Background(), "re-executed")
	fmt.Println(out, err)
	// Output: RE-EXECUTED <nil>
}
