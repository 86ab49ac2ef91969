// Package benchmarks compares crew's pool with other Go worker pools and
// with the hand-written channel pool that the design's performance targets
// are measured against, on the workloads of those targets:
//
//   - P1: one producer queues many tiny fire-and-forget tasks.
//   - P2: four callers per worker each run a tiny task and wait for it.
//   - P3: one producer queues CPU-bound tasks of about 10us.
//   - P7: one producer queues tasks that sleep 10ms, on pools of many
//     workers (1M tasks on 50,000 workers with CREW_P7=full); each pool
//     runs in a child process of its own, so that its CPU time and peak
//     RSS are its own.
//
// Every pool is driven through the same small [Pool] interface, built by
// the [Impl] values that [Impls] returns, so each benchmark runs the same
// closures on every pool. Run them with
//
//	go test -run '^$' -bench . -benchmem .
//
// This is a separate module so that crew itself does not depend on the
// pools it is compared with.
package benchmarks
