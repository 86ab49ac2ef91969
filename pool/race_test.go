//go:build race

package pool_test

// maxParkedStack is the most stack a parked worker may take under the race
// detector, in bytes. Its instrumentation makes every frame larger, so a
// parked worker's stack doubles once, to 4 KiB, but no more.
const maxParkedStack = 4096.0 + 1024
