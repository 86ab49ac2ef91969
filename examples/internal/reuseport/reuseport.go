// Package reuseport opens TCP listeners with SO_REUSEPORT, so that several
// processes can listen on the same address and the kernel spreads incoming
// connections between them. It is how the processes of examples/cluster
// share one port.
package reuseport

import (
	"context"
	"net"
)

// Listen announces on the TCP address addr with SO_REUSEPORT (and
// SO_REUSEADDR) set before binding. Every process that listens on addr this
// way, under the same user, joins one group and receives a share of the new
// connections. A listener without SO_REUSEPORT on addr makes Listen fail with
// "address already in use".
//
// Port 0 picks a free port that the other processes must then name
// explicitly, as Addr reports it.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: control}
	return lc.Listen(ctx, "tcp", addr)
}
