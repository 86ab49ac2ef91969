package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crewkit/crew/messaging"
)

type seqMsg struct{ sender, seq int }

func TestPortOrder(t *testing.T) {
	t.Run("messages from each sender arrive in the order sent", func(t *testing.T) {
		const senders, perSender = 8, 2000
		port := messaging.NewPort(messaging.Options[seqMsg]{Capacity: 4})
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := range perSender {
					require.NoError(t, port.Send(t.Context(), seqMsg{s, i}))
				}
			})
		}
		go func() { wg.Wait(); _ = port.Close() }()

		next := make([]int, senders)
		for msg := range port.C() {
			require.Equal(t, next[msg.sender], msg.seq, "sender %d", msg.sender)
			next[msg.sender]++
		}
		for s := range senders {
			require.Equal(t, perSender, next[s])
		}
	})
}

func TestPortSwitchToChannel(t *testing.T) {
	t.Run("C called while senders and receivers run loses, duplicates and reorders nothing", func(t *testing.T) {
		for round := range 20 {
			const senders, perSender = 4, 3000
			port := messaging.NewPort(messaging.Options[seqMsg]{Capacity: 1 + round%5})
			var wg sync.WaitGroup
			for s := range senders {
				wg.Go(func() {
					for i := range perSender {
						if s == 0 && i == perSender/2 {
							port.C() // switch mid-stream, from a sender
						}
						if i%2 == 0 {
							require.NoError(t, port.Send(t.Context(), seqMsg{s, i}))
							continue
						}
						for port.TrySend(seqMsg{s, i}) != nil {
							// A bare retry loop can starve the receivers it
							// waits for: woken goroutines wait for a processor
							// these loops never give up (plain channels too).
							runtime.Gosched()
						}
					}
				})
			}
			go func() { wg.Wait(); _ = port.Close() }()

			// Two receivers, one on Recv, one on C once it exists; each checks
			// that a sender's messages reach it in order.
			results := make(chan []int, 2)
			receive := func(useC bool) {
				last := []int{-1, -1, -1, -1}
				n := make([]int, senders)
				for {
					var msg seqMsg
					if useC {
						m, ok := <-port.C()
						if !ok {
							break
						}
						msg = m
					} else {
						m, err := port.Recv(t.Context())
						if err != nil {
							require.ErrorIs(t, err, messaging.ErrClosed)
							break
						}
						msg = m
					}
					require.Greater(t, msg.seq, last[msg.sender], "sender %d", msg.sender)
					last[msg.sender] = msg.seq
					n[msg.sender]++
				}
				results <- n
			}
			go receive(false)
			go receive(round%2 == 0)
			a, b := <-results, <-results
			for s := range senders {
				require.Equal(t, perSender, a[s]+b[s], "sender %d, round %d", s, round)
			}
			stats := port.Stats()
			require.Equal(t, uint64(senders*perSender), stats.Sent)
			require.Equal(t, uint64(senders*perSender), stats.Received)
			require.Zero(t, stats.Len)
		}
	})

	t.Run("C after Close gives the messages left, then closes", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{Capacity: 4})
		require.NoError(t, port.Send(t.Context(), 1))
		require.NoError(t, port.Send(t.Context(), 2))
		require.NoError(t, port.Close())
		got, err := port.Recv(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, got)
		var rest []int
		for msg := range port.C() {
			rest = append(rest, msg)
		}
		require.Equal(t, []int{2}, rest)
		require.ErrorIs(t, port.TrySend(3), messaging.ErrClosed)
		_, err = port.Recv(t.Context())
		require.ErrorIs(t, err, messaging.ErrClosed)
	})

	t.Run("a blocked Send and a blocked Recv carry on across the switch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			full := messaging.NewPort(messaging.Options[int]{Capacity: 1})
			require.NoError(t, full.Send(t.Context(), 1))
			sent := make(chan error, 1)
			go func() { sent <- full.Send(t.Context(), 2) }()
			empty := messaging.NewPort(messaging.Options[int]{Capacity: 1})
			got := make(chan int, 1)
			go func() {
				msg, err := empty.Recv(t.Context())
				require.NoError(t, err)
				got <- msg
			}()
			synctest.Wait() // both wait in the ring

			ch := full.C()
			require.Equal(t, 1, <-ch)
			require.NoError(t, <-sent)
			require.Equal(t, 2, <-ch)

			empty.C()
			require.NoError(t, empty.Send(t.Context(), 7))
			require.Equal(t, 7, <-got)
			require.NoError(t, full.Close())
			require.NoError(t, empty.Close())
		})
	})
}

func TestPortClose(t *testing.T) {
	t.Run("senders racing Close never panic and every accepted message is received", func(t *testing.T) {
		for round := range 80 {
			policy := messaging.Policy(round % 4)
			port := messaging.NewPort(messaging.Options[int]{Capacity: 2, Policy: policy})
			if round%8 >= 4 {
				port.C() // the channel transport
			}
			var attempts, accepted atomic.Int64
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for i := 0; ; i++ {
						if attempts.Add(1) == 2000 {
							_ = port.Close()
						}
						err := port.Send(t.Context(), i)
						if errors.Is(err, messaging.ErrClosed) {
							return
						}
						if err == nil {
							accepted.Add(1)
						}
					}
				})
			}
			received := len(recvAll(t, port))
			wg.Wait()

			stats := port.Stats()
			require.Equal(t, stats.Received, uint64(received), policy.String())
			switch policy {
			case messaging.DropOldest: // every drop evicted an accepted message
				require.Equal(t, accepted.Load(), int64(received)+int64(stats.Dropped), policy.String())
			case messaging.DropNewest: // every drop was a Send that returned nil
				require.Equal(t, accepted.Load(), int64(received)+int64(stats.Dropped), policy.String())
				require.Equal(t, stats.Sent, uint64(received), policy.String())
			default:
				require.Equal(t, accepted.Load(), int64(received), policy.String())
			}
		}
	})

	t.Run("receivers drain every accepted message after Close, then get ErrClosed", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{Capacity: 3})
		for i := range 3 {
			require.NoError(t, port.Send(t.Context(), i))
		}
		require.NoError(t, port.Close())
		require.ErrorIs(t, port.Send(t.Context(), 9), messaging.ErrClosed)
		require.ErrorIs(t, port.TrySend(9), messaging.ErrClosed)
		for i := range 3 {
			got, err := port.Recv(t.Context())
			require.NoError(t, err)
			require.Equal(t, i, got)
		}
		_, err := port.Recv(t.Context())
		require.ErrorIs(t, err, messaging.ErrClosed)
		_, ok := port.TryRecv()
		require.False(t, ok)
		_, open := <-port.C()
		require.False(t, open)
	})

	t.Run("Close is idempotent and returns nil", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{})
		require.NoError(t, port.Close())
		require.NoError(t, port.Close())
		require.True(t, port.Stats().Closed)
	})

	t.Run("Close wakes a blocked sender with ErrClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := messaging.NewPort(messaging.Options[int]{Capacity: 1})
			require.NoError(t, port.Send(t.Context(), 1))
			errc := make(chan error)
			go func() { errc <- port.Send(context.Background(), 2) }()
			synctest.Wait()
			require.NoError(t, port.Close())
			require.ErrorIs(t, <-errc, messaging.ErrClosed)
			got, err := port.Recv(t.Context())
			require.NoError(t, err)
			require.Equal(t, 1, got)
		})
	})
}

// recvAll receives from port with Recv until it reports ErrClosed.
func recvAll[T any](t *testing.T, port *messaging.Port[T]) []T {
	t.Helper()
	var got []T
	for {
		msg, err := port.Recv(t.Context())
		if err != nil {
			require.ErrorIs(t, err, messaging.ErrClosed)
			return got
		}
		got = append(got, msg)
	}
}

func TestPortPolicies(t *testing.T) {
	tests := []struct {
		policy   messaging.Policy
		sendErr  error // of the third Send to a port of capacity 2
		trySend  error // of a TrySend to the same full port
		buffered []int
		dropped  []int
	}{
		{messaging.Block, context.DeadlineExceeded, messaging.ErrFull, []int{1, 2}, nil},
		{messaging.Fail, messaging.ErrFull, messaging.ErrFull, []int{1, 2}, nil},
		{messaging.DropOldest, nil, nil, []int{3, 4}, []int{1, 2}},
		{messaging.DropNewest, nil, nil, []int{1, 2}, []int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v handles a full port as documented", tt.policy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var dropped []int
				port := messaging.NewPort(messaging.Options[int]{
					Capacity: 2,
					Policy:   tt.policy,
					OnDrop:   func(m int) { dropped = append(dropped, m) },
				})
				require.NoError(t, port.Send(t.Context(), 1))
				require.NoError(t, port.Send(t.Context(), 2))
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				requireErrorIs(t, tt.sendErr, port.Send(ctx, 3))
				requireErrorIs(t, tt.trySend, port.TrySend(4))

				require.Equal(t, tt.buffered, drain(t, port))
				require.Equal(t, tt.dropped, dropped)
				stats := port.Stats()
				require.Equal(t, uint64(len(tt.dropped)), stats.Dropped)
				require.Equal(t, uint64(2), stats.Received)
			})
		})
	}

	t.Run("String names every policy", func(t *testing.T) {
		require.Equal(t, "Block", messaging.Block.String())
		require.Equal(t, "Fail", messaging.Fail.String())
		require.Equal(t, "DropOldest", messaging.DropOldest.String())
		require.Equal(t, "DropNewest", messaging.DropNewest.String())
		require.Equal(t, "Policy(9)", messaging.Policy(9).String())
	})
}

func requireErrorIs(t *testing.T, want, got error) {
	t.Helper()
	if want == nil {
		require.NoError(t, got)
		return
	}
	require.ErrorIs(t, got, want)
}

// drain closes port and returns everything still buffered.
func drain[T any](t *testing.T, port *messaging.Port[T]) []T {
	t.Helper()
	require.NoError(t, port.Close())
	var got []T
	for msg := range port.C() {
		got = append(got, msg)
	}
	return got
}

func TestPortWaiting(t *testing.T) {
	t.Run("a blocked Send returns ctx.Err when ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := messaging.NewPort(messaging.Options[int]{Capacity: 1})
			require.NoError(t, port.TrySend(1))
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			require.ErrorIs(t, port.Send(ctx, 2), context.DeadlineExceeded)
			require.Equal(t, time.Minute, time.Since(start))
		})
	})

	t.Run("a blocked Send completes when a receiver makes room", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := messaging.NewPort(messaging.Options[int]{Capacity: 1})
			require.NoError(t, port.TrySend(1))
			errc := make(chan error)
			go func() { errc <- port.Send(t.Context(), 2) }()
			synctest.Wait()
			got, ok := port.TryRecv()
			require.True(t, ok)
			require.Equal(t, 1, got)
			require.NoError(t, <-errc)
			require.Equal(t, 1, port.Len())
		})
	})

	t.Run("a blocked Recv returns ctx.Err when ctx is canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := messaging.NewPort(messaging.Options[int]{})
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error)
			go func() { _, err := port.Recv(ctx); errc <- err }()
			synctest.Wait()
			cancel()
			require.ErrorIs(t, <-errc, context.Canceled)
		})
	})

	t.Run("a blocked Recv without a deadline gets the next message", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			port := messaging.NewPort(messaging.Options[string]{})
			got := make(chan string)
			go func() { msg, _ := port.Recv(context.Background()); got <- msg }()
			synctest.Wait()
			require.NoError(t, port.Send(t.Context(), "hi"))
			require.Equal(t, "hi", <-got)
		})
	})

	t.Run("a buffered message wins over an ended ctx", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{})
		require.NoError(t, port.TrySend(7))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := port.Recv(ctx)
		require.NoError(t, err)
		require.Equal(t, 7, got)
	})
}

func TestPortOptions(t *testing.T) {
	t.Run("zero Options give a Block port of DefaultCapacity", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{})
		require.Equal(t, messaging.DefaultCapacity, port.Cap())
		require.Equal(t, 64, port.Cap())
		for i := range 64 {
			require.NoError(t, port.TrySend(i))
		}
		require.ErrorIs(t, port.TrySend(64), messaging.ErrFull)
	})

	t.Run("invalid Options panic like make with a negative size", func(t *testing.T) {
		require.PanicsWithValue(t, "messaging: Capacity must be >= 0, got -1", func() {
			messaging.NewPort(messaging.Options[int]{Capacity: -1})
		})
		require.PanicsWithValue(t, "messaging: Capacity must be <= MaxCapacity (1073741824), got 1073741825", func() {
			messaging.NewPort(messaging.Options[int]{Capacity: messaging.MaxCapacity + 1})
		})
		require.PanicsWithValue(t, "messaging: unknown Policy 7", func() {
			messaging.NewPort(messaging.Options[int]{Policy: 7})
		})
		require.PanicsWithValue(t, "messaging: Clone must be nil on a port of request envelopes", func() {
			type env = *messaging.Envelope[int, int]
			messaging.NewPort(messaging.Options[env]{Clone: func(e env) env { return e }})
		})
	})

	t.Run("Clone gives the receiver a copy the sender cannot reach", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[[]int]{Clone: func(s []int) []int {
			return append([]int(nil), s...)
		}})
		msg := []int{1, 2}
		require.NoError(t, port.Send(t.Context(), msg))
		msg[0] = 99
		got, err := port.Recv(t.Context())
		require.NoError(t, err)
		require.Equal(t, []int{1, 2}, got)
	})

	t.Run("errors of a named port carry its name and match the sentinel", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{Capacity: 1, Policy: messaging.Fail, Name: "jobs"})
		require.NoError(t, port.TrySend(1))
		err := port.TrySend(2)
		require.ErrorIs(t, err, messaging.ErrFull)
		require.EqualError(t, err, `messaging: port "jobs": full`)
		require.Contains(t, port.String(), `"jobs"`)
	})

	t.Run("Stats counts sent, received and dropped messages", func(t *testing.T) {
		port := messaging.NewPort(messaging.Options[int]{Capacity: 2, Policy: messaging.DropOldest, Name: "s"})
		for i := range 5 {
			require.NoError(t, port.TrySend(i))
		}
		_, ok := port.TryRecv()
		require.True(t, ok)
		require.Equal(t, messaging.PortStats{
			Name: "s", Sent: 5, Received: 1, Dropped: 3, Len: 1, Cap: 2,
		}, port.Stats())
	})
}

func TestPortSentCounter(t *testing.T) {
	t.Run("the sent count stays exact across its internal fold", func(t *testing.T) {
		sent, field := messaging.SentAfter(messaging.FoldAt-2, 5)
		require.Equal(t, uint64(messaging.FoldAt+3), sent)
		require.Less(t, field, uint64(messaging.FoldAt), "the fold moved the count out of the state word")
	})
}
