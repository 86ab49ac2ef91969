package pool_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

func TestClose(t *testing.T) {
	t.Run("Close is idempotent and concurrent calls share its result", func(t *testing.T) {
		p := newPool(t, func(context.Context, int) (int, error) { return 0, nil }, pool.Options{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() { require.NoError(t, p.Close(bg)) })
		}
		wg.Wait()
		require.NoError(t, p.Close(bg))
		require.Equal(t, "closed", p.Stats().State)
	})
	t.Run("submitting while Close runs never panics and never loses a task", func(t *testing.T) {
		for range 20 {
			p := newPool(t, func(_ context.Context, n int) (int, error) { return n, nil }, pool.Options{MaxWorkers: 2, QueueSize: 4})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var futures []*pool.Future[int]
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						f, err := p.Submit(bg, g*100+i)
						if err != nil {
							require.ErrorIs(t, err, pool.ErrClosed)
							return
						}
						mu.Lock()
						futures = append(futures, f)
						mu.Unlock()
					}
				})
			}
			require.NoError(t, p.Close(bg))
			wg.Wait()
			for _, f := range futures {
				_, err := f.Wait(bg)
				require.NoError(t, err, "an accepted task was drained, not dropped")
			}
			require.Equal(t, uint64(len(futures)), p.Stats().Completed)
		}
	})
	t.Run("Close names the workers whose tasks ignore cancellation", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
				<-release // ignores ctx
				return n, nil
			}, pool.Options{Name: "stubborn", MaxWorkers: 1, HungGrace: time.Second})
			require.NoError(t, err)
			f := submit(t, p, bg, 1)
			synctest.Wait()
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			defer cancel()
			start := time.Now()
			err = p.Close(ctx)
			require.Equal(t, 3*time.Second, time.Since(start), "ctx, then HungGrace")
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Len(t, ce.Hung, 1)
			require.True(t, strings.HasPrefix(ce.Hung[0], "stubborn worker 1"), ce.Hung[0])
			require.Contains(t, err.Error(), "1 worker(s) ignored cancellation")
			close(release)
			requireResult(t, f, 1)
		})
	})
	t.Run("a forced Close cancels running tasks, whatever ctx they came with", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := pool.NewFunc(func(ctx context.Context, n int) (int, error) {
				<-ctx.Done()
				return n, context.Cause(ctx)
			}, pool.Options{MaxWorkers: 3, HungGrace: time.Second})
			require.NoError(t, err)
			callerCtx, cancelCaller := context.WithCancel(bg) // never cancelled here
			defer cancelCaller()
			timed, cancelTimed := context.WithTimeout(bg, time.Hour)
			defer cancelTimed()
			futs := []*pool.Future[int]{submit(t, p, bg, 1), submit(t, p, callerCtx, 2), submit(t, p, timed, 3)}
			synctest.Wait()
			require.Equal(t, 3, p.Stats().Busy)
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			err = p.Close(ctx)
			var ce *pool.CloseError
			require.ErrorAs(t, err, &ce)
			require.Empty(t, ce.Hung, "every task returned once cancelled")
			for _, f := range futs {
				_, err := f.Wait(bg)
				require.ErrorIs(t, err, pool.ErrClosed)
				require.ErrorIs(t, err, context.DeadlineExceeded, "the cause names Close's ctx")
			}
		})
	})
	t.Run("Messages is closed after the pool closes", func(t *testing.T) {
		p := newPool(t, func(context.Context, int) (int, error) { return 0, nil }, pool.Options{})
		require.NoError(t, p.Close(bg))
		_, err := p.Messages().Recv(bg)
		require.Error(t, err)
	})
}
