package remote_test

import (
	"context"
	"encoding/gob"
	"fmt"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/remote"
	"github.com/stretchr/testify/require"
)

// boxed has an interface field, whose concrete types gob describes the
// first time each one is sent.
type boxed struct{ V any }

type point struct{ X, Y int }

func init() { gob.Register(point{}) }

func TestStreams(t *testing.T) {
	t.Run("values of new concrete types in an interface field arrive intact", func(t *testing.T) {
		s := startServer(t)
		nc := connect(t, s)
		show := func(_ context.Context, b boxed) (boxed, error) { return boxed{fmt.Sprintf("%T %v", b.V, b.V)}, nil }
		mp, err := pool.NewFunc(show, pool.Options{})
		require.NoError(t, err)
		m, err := remote.Serve(nc, "show", mp, remote.MemberOptions{})
		require.NoError(t, err)
		defer func() {
			require.NoError(t, m.Stop(context.Background()))
			require.NoError(t, mp.Close(context.Background()))
		}()
		p, err := pool.New(remote.Factory[boxed, boxed](nc, "show", remote.Options{}), pool.Options{MaxWorkers: 1})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()

		for i, in := range []any{"a", 7, point{1, 2}, point{3, 4}, "b", 8} {
			out, err := p.Run(context.Background(), boxed{in})
			require.NoError(t, err, "value %d", i)
			require.Equal(t, fmt.Sprintf("%T %v", in, in), out.V, "value %d", i)
		}
	})
}
