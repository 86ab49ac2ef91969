package benchmarks

import "sync/atomic"

// KernelRounds makes Kernel take about 10us on the project's machines.
const KernelRounds = 3200

// Kernel is the CPU-bound task of P3: a xorshift-multiply chain that the
// compiler cannot shorten. It is deterministic.
func Kernel(seed uint64) uint64 {
	x := seed | 1
	for range KernelRounds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		x *= 0x9e3779b97f4a7c15
	}
	return x
}

// Sink keeps the kernels' results alive.
var Sink atomic.Uint64

// Tiny is the task of P1: a closure that captures nothing, so queueing it
// allocates nothing.
func Tiny() {}
