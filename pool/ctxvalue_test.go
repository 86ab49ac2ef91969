package pool_test

import (
	"context"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

type valueKey struct{}

func TestTaskSeesTheCallersValues(t *testing.T) {
	calls := []struct {
		name string
		call func(ctx context.Context, p *pool.Pool[int, any]) (any, error)
	}{
		{"Run", func(ctx context.Context, p *pool.Pool[int, any]) (any, error) { return p.Run(ctx, 1) }},
		{"TryRun", func(ctx context.Context, p *pool.Pool[int, any]) (any, error) { return p.TryRun(ctx, 1) }},
		{"Submit", func(ctx context.Context, p *pool.Pool[int, any]) (any, error) {
			f, err := p.Submit(ctx, 1)
			if err != nil {
				return nil, err
			}
			return f.Wait(context.Background())
		}},
		{"TrySubmit", func(ctx context.Context, p *pool.Pool[int, any]) (any, error) {
			f, err := p.TrySubmit(ctx, 1)
			if err != nil {
				return nil, err
			}
			return f.Wait(context.Background())
		}},
	}
	contexts := []struct {
		name string
		ctx  func(t *testing.T) context.Context
	}{
		{"a ctx that cannot be cancelled", func(*testing.T) context.Context {
			return context.WithValue(context.Background(), valueKey{}, "v")
		}},
		{"a ctx without its parent's cancellation", func(t *testing.T) context.Context {
			return context.WithoutCancel(context.WithValue(t.Context(), valueKey{}, "v"))
		}},
		{"a cancellable ctx", func(t *testing.T) context.Context {
			return context.WithValue(t.Context(), valueKey{}, "v")
		}},
	}
	options := []struct {
		name string
		opts pool.Options
	}{
		{"on a default pool", pool.Options{}},
		{"on a pool that never runs tasks inline", pool.Options{NoInline: true}},
		{"on a pool with a TaskTimeout", pool.Options{TaskTimeout: time.Minute}},
	}
	for _, o := range options {
		for _, c := range contexts {
			for _, call := range calls {
				t.Run(call.name+" with "+c.name+" "+o.name, func(t *testing.T) {
					p, err := pool.NewFunc(func(ctx context.Context, _ int) (any, error) {
						return ctx.Value(valueKey{}), nil
					}, o.opts)
					require.NoError(t, err)
					defer func() { require.NoError(t, p.Close(context.Background())) }()
					got, err := call.call(c.ctx(t), p)
					require.NoError(t, err)
					require.Equal(t, "v", got)
				})
			}
		}
	}
	t.Run("Go with a ctx that cannot be cancelled", func(t *testing.T) {
		got := make(chan any, 1)
		p, err := pool.NewFunc(func(ctx context.Context, _ int) (any, error) {
			got <- ctx.Value(valueKey{})
			return nil, nil
		}, pool.Options{})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()
		require.NoError(t, p.Go(context.WithValue(context.Background(), valueKey{}, "v"), 1))
		require.Equal(t, "v", <-got)
		require.NoError(t, p.TryGo(context.WithValue(context.Background(), valueKey{}, "w"), 1))
		require.Equal(t, "w", <-got)
	})
	t.Run("Go with context.Background does not allocate", func(t *testing.T) {
		p, err := pool.NewFunc(func(context.Context, int) (any, error) { return nil, nil }, pool.Options{})
		require.NoError(t, err)
		defer func() { require.NoError(t, p.Close(context.Background())) }()
		allocs := testing.AllocsPerRun(1000, func() { _ = p.Go(context.Background(), 1) })
		require.Zero(t, allocs)
	})
}
