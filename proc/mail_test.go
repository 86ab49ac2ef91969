package proc_test

import (
	"context"
	"sync"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/proc"
	"github.com/stretchr/testify/require"
)

func TestMessagesCrossThePipe(t *testing.T) {
	t.Run("the owner's messages reach the child's Receive between tasks", func(t *testing.T) {
		started := make(chan struct{}, 2)
		p := newPool(t, "mail", proc.Options{}, pool.Options{MaxWorkers: 2, MinWorkers: 2, OnEvent: func(e pool.Event) {
			if e.Kind == pool.WorkerStarted {
				started <- struct{}{}
			}
		}})
		<-started
		<-started
		n, err := p.Broadcast("v2")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		for range 4 {
			r, err := run(t, p, Job{Op: "last"})
			require.NoError(t, err)
			require.Equal(t, "v2", r.Text, "every child has it before its next task")
		}
		require.NoError(t, p.Send(1, "only 1"))
		require.NoError(t, p.Close(context.Background()))
	})
	t.Run("a Receive that panics or fails fatally replaces the child; a plain error goes to OnError", func(t *testing.T) {
		var mu sync.Mutex
		var errs []error
		p := newPool(t, "mail", proc.Options{}, pool.Options{MaxWorkers: 1, MinWorkers: 1, OnError: func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}})
		first, err := run(t, p, Job{Op: "last"})
		require.NoError(t, err)
		require.NoError(t, p.Send(1, "fail"))
		same, err := run(t, p, Job{Op: "last"})
		require.NoError(t, err)
		require.Equal(t, first.PID, same.PID, "a plain error keeps the child")
		for i, msg := range []string{"panic", "fatal"} {
			require.NoError(t, p.Send(1+i, msg))
			next, err := run(t, p, Job{Op: "last"})
			require.NoError(t, err)
			require.NotEqual(t, first.PID, next.PID)
			requireGone(t, first.PID)
			first = next
		}
		require.Equal(t, uint64(2), p.Stats().Restarts)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, errs, 3)
		require.ErrorContains(t, errs[0], "worker 1: Receive: bad message")
		var pe *pool.PanicError
		require.ErrorAs(t, errs[1], &pe)
		require.Equal(t, "receive panicked", pe.Value.(interface{ String() string }).String())
		require.ErrorContains(t, errs[2], "cannot go on")
	})
	t.Run("a worker without Receive has the message reported undelivered", func(t *testing.T) {
		errc := make(chan error, 1)
		p := newPool(t, "echo", proc.Options{}, pool.Options{MaxWorkers: 1, MinWorkers: 1, OnError: func(err error) { errc <- err }})
		_, err := run(t, p, Job{Op: "pid"}) // the worker is built by its slot, in the background
		require.NoError(t, err)
		require.NoError(t, p.Send(1, "x"))
		require.ErrorContains(t, <-errc, "the worker does not implement pool.Receiver")
	})
	t.Run("what the child posts reaches the pool's Messages, in order", func(t *testing.T) {
		p := newPool(t, "mail", proc.Options{}, pool.Options{MaxWorkers: 1})
		_, err := run(t, p, Job{Op: "post", Text: "progress", N: 3})
		require.NoError(t, err)
		for i, want := range []string{"progress 0", "progress 1", "progress 2"} {
			m, ok := p.Messages().TryRecv()
			require.True(t, ok, "post %d", i)
			require.Equal(t, want, m.Body)
			require.Equal(t, 1, m.Worker)
		}
	})
}
