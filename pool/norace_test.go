//go:build !race

package pool_test

// maxParkedStack is the most stack a parked worker may take, in bytes: the
// 2 KiB minimum and some room for the GC's own stack spans.
const maxParkedStack = 3072.0
