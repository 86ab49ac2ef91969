// Package procpeers measures crew's process workers (package proc) against
// the two peers of target P8 on the same tiny task, squaring an int in a
// child process: a hand-written request/reply over a pipe pair with
// length-prefixed frames (the floor for any process worker), and
// hashicorp/go-plugin's gRPC transport. Every child is the test binary
// itself, started again in a worker role. Run it with
//
//	go test -run '^$' -bench . -benchmem ./procpeers
//
// It lives in the benchmarks module so that go-plugin and gRPC never enter
// crew's own go.mod.
package procpeers
