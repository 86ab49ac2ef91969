// Package kernel is the CPU-bound task of the P3 benchmarks, shared by the
// pool's benchmarks and the peer comparison so that both measure the same
// work.
package kernel

// Rounds makes Run take about 10us on the project's machines.
const Rounds = 3200

// Run is a deterministic xorshift-multiply hash chain that the compiler
// cannot shorten.
func Run(seed uint64) uint64 {
	x := seed | 1
	for range Rounds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		x *= 0x9e3779b97f4a7c15
	}
	return x
}
