package pool_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// heavy grows by its input and asks to retire past a limit, as a process
// worker above its memory threshold does.
type heavy struct {
	id, size int
	asked    *int
}

func (h *heavy) Handle(_ context.Context, n int) (int, error) {
	h.size += n
	return h.id, nil
}

func (h *heavy) Retire() bool {
	*h.asked++
	return h.size > 10
}

func TestRetirer(t *testing.T) {
	for _, inline := range []bool{true, false} {
		name := "a worker that asks to retire is replaced before its next task"
		if inline {
			name += ", after an inline run too"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				asked := 0 // MaxWorkers 1: asked from one goroutine at a time
				var events []pool.Event
				p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
					return &heavy{id: info.ID, asked: &asked}, nil
				}, pool.Options{MaxWorkers: 1, NoInline: !inline, OnEvent: func(e pool.Event) {
					if e.Kind == pool.WorkerRecycled {
						events = append(events, e)
					}
				}})
				require.NoError(t, err)
				var ids []int
				for _, n := range []int{5, 5, 5, 1, 20, 1} {
					id, err := p.Run(context.Background(), n)
					require.NoError(t, err)
					ids = append(ids, id)
					synctest.Wait() // the slot has asked after the task
				}
				require.NoError(t, p.Close(context.Background()))
				// Worker 1 reaches 15 on its third task, worker 2 reaches
				// 21 on its second; worker 3 is never full.
				require.Equal(t, []int{1, 1, 1, 2, 2, 3}, ids)
				st := p.Stats()
				require.Equal(t, uint64(2), st.Recycled)
				require.Zero(t, st.Restarts, "retiring is not a crash")
				require.Len(t, events, 2)
				require.Equal(t, 6, asked, "once per task")
			})
		})
	}
}
