package remote

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAnswers(t *testing.T) {
	t.Run("the oldest answers go first when the count is reached", func(t *testing.T) {
		a := newAnswers(3, 1<<20)
		for i := range 5 {
			a.put(fmt.Sprint(i), []byte{byte(i)})
		}
		for i, want := range []bool{false, false, true, true, true} {
			_, ok := a.get(fmt.Sprint(i))
			require.Equal(t, want, ok, "answer %d", i)
		}
	})
	t.Run("the oldest answers go first when the bytes are reached", func(t *testing.T) {
		a := newAnswers(100, 10)
		a.put("a", make([]byte, 4))
		a.put("b", make([]byte, 4))
		a.put("c", make([]byte, 4))
		_, ok := a.get("a")
		require.False(t, ok)
		b, ok := a.get("c")
		require.True(t, ok)
		require.Len(t, b, 4)
		require.Equal(t, 8, a.bytes)
	})
	t.Run("an answer larger than the budget is not kept", func(t *testing.T) {
		a := newAnswers(10, 10)
		a.put("big", make([]byte, 11))
		_, ok := a.get("big")
		require.False(t, ok)
		require.Zero(t, a.bytes)
	})
}
