package pool

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestSlotSize(t *testing.T) {
	t.Run("a slot fills whole cache lines, so that two slots never share one", func(t *testing.T) {
		// 320 bytes is a size class of its own: the allocator places slots
		// at multiples of it, five lines each.
		require.Equal(t, uintptr(320), unsafe.Sizeof(slot[int, int]{}))
	})
}
