package pool_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// TestStress submits from many producers while tasks panic, fail and get
// canceled at random and Close runs concurrently. Every accepted task must
// resolve exactly once and run at most once.
func TestStress(t *testing.T) {
	const producers, perProducer = 8, 400
	runs := make([]atomic.Int32, producers*perProducer)
	var forgotten atomic.Int64 // fire-and-forget errors reported to OnError
	p, err := pool.NewFunc(func(ctx context.Context, id int) (int, error) {
		runs[id].Add(1)
		switch r := id % 100; {
		case r == 0:
			panic("chaos")
		case r < 10:
			return 0, errBoom
		case r < 20:
			<-ctx.Done() // canceled below
			return 0, ctx.Err()
		}
		return id, nil
	}, pool.Options{MaxWorkers: 4, QueueSize: 16, OnError: func(error) { forgotten.Add(1) },
		Restart: pool.RestartPolicy{MaxRestarts: -1}})
	require.NoError(t, err)

	var accepted, resolved atomic.Int64
	var wg sync.WaitGroup
	for g := range producers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range perProducer {
				id := g*perProducer + i
				ctx, cancel := context.WithCancel(bg)
				if id%100 >= 10 && id%100 < 20 || r.IntN(20) == 0 {
					time.AfterFunc(time.Duration(r.IntN(200))*time.Microsecond, cancel)
				}
				f, err := p.Submit(ctx, id)
				if err != nil {
					cancel()
					require.True(t, errors.Is(err, pool.ErrClosed) || errors.Is(err, context.Canceled), "%v", err)
					continue
				}
				accepted.Add(1)
				wg.Go(func() {
					defer cancel()
					out, err := f.Wait(bg)
					resolved.Add(1)
					if err == nil {
						require.Equal(t, id, out)
						require.Equal(t, int32(1), runs[id].Load())
					}
					select {
					case <-f.Done():
					default:
						t.Error("Wait returned before Done was closed")
					}
				})
			}
		})
	}
	go func() {
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond) // Close lands at a random point
		_ = p.Close(bg)
	}()
	wg.Wait()
	require.NoError(t, p.Close(bg))
	require.Equal(t, accepted.Load(), resolved.Load())
	for id := range runs {
		require.LessOrEqual(t, runs[id].Load(), int32(1), "task %d ran twice", id)
	}
	st := p.Stats()
	outcomes := st.Completed + st.Failed + st.Panicked + st.Canceled + st.TimedOut
	require.Equal(t, uint64(accepted.Load()), outcomes, "each accepted task counted once: %+v", st)
	require.Zero(t, st.Restarts, "a stateless pool keeps its workers through panics")
	require.Zero(t, forgotten.Load())
}
