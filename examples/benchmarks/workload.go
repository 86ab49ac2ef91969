package benchmarks

import (
	"sync/atomic"

	"github.com/crewkit/crew/internal/kernel"
)

// Kernel is the CPU-bound task of P3, the same as in crew's own benchmarks:
// a deterministic hash chain of about 10us.
func Kernel(seed uint64) uint64 { return kernel.Run(seed) }

// Sink keeps the kernels' results alive.
var Sink atomic.Uint64

// Tiny is the task of P1: a closure that captures nothing, so queueing it
// allocates nothing.
func Tiny() {}
