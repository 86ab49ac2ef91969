package wire_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
	"github.com/stretchr/testify/require"
)

func TestErrors(t *testing.T) {
	kinds := []struct {
		name string
		err  error
		is   error
	}{
		{"timeout", fmt.Errorf("task 3: %w", pool.ErrTimeout), pool.ErrTimeout},
		{"pool failed", pool.ErrPoolFailed, pool.ErrPoolFailed},
		{"closed", pool.ErrClosed, pool.ErrClosed},
		{"queue full", pool.ErrQueueFull, pool.ErrQueueFull},
		{"shed", fmt.Errorf("waited 300ms: %w", pool.ErrShed), pool.ErrShed},
		{"canceled", fmt.Errorf("wait: %w", context.Canceled), context.Canceled},
		{"deadline", context.DeadlineExceeded, context.DeadlineExceeded},
	}
	for _, c := range wire.Codecs() {
		for _, k := range kinds {
			t.Run(k.name+" keeps its kind and message through "+c.Name(), func(t *testing.T) {
				got := roundTrip(t, c, k.err)
				require.ErrorIs(t, got, k.is)
				require.Equal(t, k.err.Error(), got.Error())
			})
		}
		t.Run("a panic stays a *pool.PanicError with its stack through "+c.Name(), func(t *testing.T) {
			got := roundTrip(t, c, &pool.PanicError{Value: "boom", Stack: []byte("goroutine 1")})
			var pe *pool.PanicError
			require.ErrorAs(t, got, &pe)
			require.Equal(t, wire.RemoteValue("boom"), pe.Value)
			require.Equal(t, []byte("goroutine 1"), pe.Stack)
			require.Equal(t, "pool: task panicked: boom", got.Error())
		})
		t.Run("any other error keeps its message and matches no sentinel through "+c.Name(), func(t *testing.T) {
			got := roundTrip(t, c, errors.New("bad input"))
			require.EqualError(t, got, "bad input")
			require.NotErrorIs(t, got, pool.ErrTimeout)
			require.NotErrorIs(t, got, context.Canceled)
		})
	}
	t.Run("nil stays nil", func(t *testing.T) {
		require.Nil(t, wire.FromError(nil))
		var e *wire.Error
		require.NoError(t, e.Err())
	})
}

func roundTrip(t *testing.T, c wire.Codec, err error) error {
	t.Helper()
	b, encErr := c.NewEncoder().Encode(wire.FromError(err))
	require.NoError(t, encErr)
	var got wire.Error
	require.NoError(t, c.NewDecoder().Decode(b, &got))
	return got.Err()
}
