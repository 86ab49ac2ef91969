// Command upper is a process worker that upper-cases strings, built by the
// proc tests as a separate binary.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
)

func main() {
	factory := func(context.Context, pool.WorkerInfo) (pool.Worker[string, string], error) {
		return pool.Func[string, string](func(_ context.Context, s string) (string, error) {
			return strings.ToUpper(s), nil
		}), nil
	}
	if err := proc.Serve(context.Background(), factory, proc.ServeOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
