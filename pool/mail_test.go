package pool_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/crewkit/crew/pool"
	"github.com/stretchr/testify/require"
)

// listener is a stateful worker that records what it receives and fails
// the test if a message arrives during a task.
type listener struct {
	t        *testing.T
	id       int
	inTask   atomic.Bool
	got      []any // touched only on the worker's goroutine
	gate     chan struct{}
	received chan<- receipt
}

type receipt struct {
	worker int
	msg    any
}

func (l *listener) Handle(_ context.Context, n int) (int, error) {
	l.inTask.Store(true)
	defer l.inTask.Store(false)
	if n < 0 {
		<-l.gate
	}
	return l.id, nil
}

func (l *listener) Receive(_ context.Context, msg any) error {
	if l.inTask.Load() {
		l.t.Errorf("worker %d received %v during a task", l.id, msg)
	}
	l.got = append(l.got, msg)
	switch msg {
	case "panic":
		panic("receive panicked")
	case "fatal":
		return pool.Fatal(errors.New("cannot go on"))
	case "fail":
		return errors.New("bad message")
	}
	l.received <- receipt{l.id, msg}
	return nil
}

func listenerPool(t *testing.T, opts pool.Options) (*pool.Pool[int, int], chan receipt, chan struct{}) {
	received := make(chan receipt, 1024)
	gate := make(chan struct{})
	p, err := pool.New(func(_ context.Context, info pool.WorkerInfo) (pool.Worker[int, int], error) {
		return &listener{t: t, id: info.ID, gate: gate, received: received}, nil
	}, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close(bg) })
	return p, received, gate
}

func TestMessagesToWorkers(t *testing.T) {
	t.Run("a broadcast reaches every live worker on its own goroutine", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, received, _ := listenerPool(t, pool.Options{MaxWorkers: 4, MinWorkers: 4})
			synctest.Wait()
			n, err := p.Broadcast("config v2")
			require.NoError(t, err)
			require.Equal(t, 4, n)
			seen := map[int]bool{}
			for range 4 {
				r := <-received
				require.Equal(t, "config v2", r.msg)
				seen[r.worker] = true
			}
			require.Len(t, seen, 4, "each worker once")
		})
	})
	t.Run("Send reaches the one worker it names, after its running task", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, received, gate := listenerPool(t, pool.Options{MaxWorkers: 2, MinWorkers: 2})
			busy, err := p.Submit(bg, -1) // holds one worker until gate opens
			require.NoError(t, err)
			synctest.Wait()
			// The other worker answers a task with its ID.
			free, err := p.Run(bg, 1)
			require.NoError(t, err)
			busyID := 3 - free // IDs 1 and 2
			require.NoError(t, p.Send(busyID, "to the busy one"))
			require.NoError(t, p.Send(free, "to the free one"))
			r := <-received
			require.Equal(t, receipt{free, "to the free one"}, r, "the free worker receives at once")
			synctest.Wait()
			require.Empty(t, received, "the busy worker receives only after its task")
			close(gate)
			got, err := busy.Wait(bg)
			require.NoError(t, err)
			require.Equal(t, busyID, got)
			require.Equal(t, receipt{busyID, "to the busy one"}, <-received)
		})
	})
	t.Run("messages from one sender arrive in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, received, _ := listenerPool(t, pool.Options{MaxWorkers: 1, MinWorkers: 1})
			synctest.Wait()
			for i := range pool.MailboxSize {
				require.NoError(t, p.Send(1, i))
			}
			for i := range pool.MailboxSize {
				require.Equal(t, i, (<-received).msg)
			}
		})
	})
	t.Run("bad addresses and full mailboxes are refused at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, _, gate := listenerPool(t, pool.Options{MaxWorkers: 1, MinWorkers: 1})
			_, err := p.Submit(bg, -1) // the only worker stays busy
			require.NoError(t, err)
			synctest.Wait()
			require.ErrorIs(t, p.Send(7, "x"), pool.ErrNoWorker)
			require.ErrorIs(t, p.Send(0, "x"), pool.ErrNoWorker)
			for range pool.MailboxSize {
				require.NoError(t, p.Send(1, "x"))
			}
			err = p.Send(1, "x")
			require.ErrorIs(t, err, pool.ErrMailboxFull)
			require.EqualError(t, err, `pool: worker 1: mailbox full`)
			n, err := p.Broadcast("y")
			require.Equal(t, 0, n)
			require.ErrorIs(t, err, pool.ErrMailboxFull)
			close(gate)
		})
	})
	t.Run("after Close, Send and Broadcast return ErrClosed", func(t *testing.T) {
		p, _, _ := listenerPool(t, pool.Options{MaxWorkers: 1})
		require.NoError(t, p.Close(bg))
		require.ErrorIs(t, p.Send(1, "x"), pool.ErrClosed)
		_, err := p.Broadcast("x")
		require.ErrorIs(t, err, pool.ErrClosed)
	})
	t.Run("a Receive that panics or fails fatally gets its worker rebuilt", func(t *testing.T) {
		for _, msg := range []string{"panic", "fatal"} {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var errs []error
				p, received, _ := listenerPool(t, pool.Options{MaxWorkers: 1, MinWorkers: 1, OnError: func(err error) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}})
				synctest.Wait()
				require.NoError(t, p.Send(1, msg))
				synctest.Wait()
				id, err := p.Run(bg, 1)
				require.NoError(t, err)
				require.Equal(t, 2, id, "a new worker serves the next task")
				require.Equal(t, uint64(1), p.Stats().Restarts)
				require.NoError(t, p.Send(2, "hello"))
				require.Equal(t, receipt{2, "hello"}, <-received)
				mu.Lock()
				defer mu.Unlock()
				require.Len(t, errs, 1)
				require.ErrorContains(t, errs[0], `pool: worker 1: Receive: `)
			})
		}
	})
	t.Run("a plain error from Receive goes to OnError and the worker stays", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			errc := make(chan error, 1)
			p, _, _ := listenerPool(t, pool.Options{MaxWorkers: 1, MinWorkers: 1, OnError: func(err error) { errc <- err }})
			synctest.Wait()
			require.NoError(t, p.Send(1, "fail"))
			require.EqualError(t, <-errc, `pool: worker 1: Receive: bad message`)
			id, err := p.Run(bg, 1)
			require.NoError(t, err)
			require.Equal(t, 1, id)
		})
	})
	t.Run("a worker that is not a Receiver has the message reported undelivered", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			errc := make(chan error, 1)
			p, err := pool.NewFunc(func(_ context.Context, n int) (int, error) { return n, nil },
				pool.Options{MaxWorkers: 1, MinWorkers: 1, OnError: func(err error) { errc <- err }})
			require.NoError(t, err)
			defer p.Close(bg)
			synctest.Wait()
			require.NoError(t, p.Send(1, "x"))
			require.EqualError(t, <-errc, `pool: worker 1: message undelivered: the worker does not implement pool.Receiver`)
		})
	})
	t.Run("a worker lent to an inline Run receives once it is back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, received, gate := listenerPool(t, pool.Options{MaxWorkers: 1, MinWorkers: 1})
			synctest.Wait()
			done := make(chan int)
			go func() {
				id, _ := p.Run(bg, -1) // inline: Handle runs on this goroutine
				done <- id
			}()
			synctest.Wait()
			require.NoError(t, p.Send(1, "later"))
			synctest.Wait()
			require.Empty(t, received)
			close(gate)
			require.Equal(t, 1, <-done)
			require.Equal(t, receipt{1, "later"}, <-received)
		})
	})
}

// Messages sent while tasks run and workers park, borrow and return are
// each received exactly once: none is lost to a slot going to sleep as it
// arrives.
func TestMessagesUnderLoad(t *testing.T) {
	for round := range 20 {
		p, received, _ := listenerPool(t, pool.Options{MaxWorkers: 1 + round%4})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for i := range 200 {
					_, err := p.Run(bg, i)
					require.NoError(t, err)
				}
			})
		}
		posted := 0
		for i := range 200 {
			n, err := p.Broadcast(i)
			if err != nil {
				require.ErrorIs(t, err, pool.ErrMailboxFull)
			}
			posted += n
		}
		wg.Wait()
		for range posted {
			<-received // hangs if a message was lost
		}
		require.NoError(t, p.Close(bg))
		require.Empty(t, received, "no message twice")
	}
}
