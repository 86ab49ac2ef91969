package messaging

import "context"

// ChannelOptions configures both directions of a channel made by NewChannel.
// The zero value gives each direction DefaultCapacity slots and the Block
// policy.
type ChannelOptions struct {
	// Capacity is the buffer size of each direction. Zero means
	// DefaultCapacity (64); negative makes NewChannel panic.
	Capacity int

	// Policy is the overflow policy of each direction. Zero means Block.
	Policy Policy

	// Name identifies the channel in errors and Stats; the directions are
	// named Name+"/a->b" and Name+"/b->a". Empty means unnamed.
	Name string
}

// Endpoint is one end of a two-way channel made by NewChannel: it sends S
// and receives R. It is safe for concurrent use.
type Endpoint[S, R any] struct {
	out *Port[S]
	in  *Port[R]
}

// EndpointStats is a snapshot of both directions of an endpoint.
type EndpointStats struct {
	// Out counts what this endpoint sent; In what it receives.
	Out, In PortStats
}

// NewChannel returns two linked endpoints, the analogue of Node's
// MessageChannel: what one sends, the other receives, in order. Closing
// either endpoint closes both directions; each side still receives what was
// sent to it before, then ErrClosed. It panics on invalid opts, as NewPort
// does.
func NewChannel[A, B any](opts ChannelOptions) (*Endpoint[A, B], *Endpoint[B, A]) {
	name := func(dir string) string {
		if opts.Name == "" {
			return ""
		}
		return opts.Name + "/" + dir
	}
	ab := NewPort(Options[A]{Capacity: opts.Capacity, Policy: opts.Policy, Name: name("a->b")})
	ba := NewPort(Options[B]{Capacity: opts.Capacity, Policy: opts.Policy, Name: name("b->a")})
	return &Endpoint[A, B]{out: ab, in: ba}, &Endpoint[B, A]{out: ba, in: ab}
}

// Send sends msg to the other endpoint, as Port.Send does.
func (e *Endpoint[S, R]) Send(ctx context.Context, msg S) error { return e.out.Send(ctx, msg) }

// TrySend sends msg without waiting, as Port.TrySend does.
func (e *Endpoint[S, R]) TrySend(msg S) error { return e.out.TrySend(msg) }

// Recv waits for the next message from the other endpoint, as Port.Recv
// does.
func (e *Endpoint[S, R]) Recv(ctx context.Context) (R, error) { return e.in.Recv(ctx) }

// TryRecv returns the next message without waiting, as Port.TryRecv does.
func (e *Endpoint[S, R]) TryRecv() (R, bool) { return e.in.TryRecv() }

// C returns the receive side for use in select, as Port.C does.
func (e *Endpoint[S, R]) C() <-chan R { return e.in.C() }

// Len returns the number of messages waiting to be received here.
func (e *Endpoint[S, R]) Len() int { return e.in.Len() }

// Close closes both directions and returns nil. It is idempotent; closing
// the other endpoint as well is harmless.
func (e *Endpoint[S, R]) Close() error {
	_ = e.out.Close()
	return e.in.Close()
}

// Stats returns a snapshot of both directions.
func (e *Endpoint[S, R]) Stats() EndpointStats {
	return EndpointStats{Out: e.out.Stats(), In: e.in.Stats()}
}
