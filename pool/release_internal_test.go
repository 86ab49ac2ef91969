package pool

import (
	"context"
	"runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/require"
)

type retainedKey struct{}

func TestRunDoesNotKeepTheCallersContext(t *testing.T) {
	for _, opts := range []Options{{}, {NoInline: true}} {
		t.Run("NoInline "+map[bool]string{false: "off", true: "on"}[opts.NoInline], func(t *testing.T) {
			p, err := NewFunc(func(ctx context.Context, n int) (int, error) {
				_ = ctx.Value(retainedKey{})
				return n, nil
			}, opts)
			require.NoError(t, err)
			defer func() { require.NoError(t, p.Close(context.Background())) }()
			var values []weak.Pointer[[64]byte]
			for i := range 8 {
				v := new([64]byte)
				values = append(values, weak.Make(v))
				out, err := p.Run(context.WithValue(context.Background(), retainedKey{}, v), i)
				require.NoError(t, err)
				require.Equal(t, i, out)
			}
			runtime.GC()
			for i, w := range values {
				require.Nil(t, w.Value(), "run %d: its ctx is still reachable after Run returned", i)
			}
		})
	}
}
