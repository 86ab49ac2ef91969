// Package messaging is typed, bounded, FIFO message passing between
// goroutines: the Go analogue of the messaging half of Node's worker_threads.
//
// # The model for a Node developer
//
// In Node, a worker and its parent talk through a MessagePort: postMessage on
// one side, a 'message' event on the other. A MessageChannel is two linked
// ports; a BroadcastChannel delivers to every listener with the same name;
// receiveMessageOnPort takes a message without waiting for the event loop.
// Messages cross isolates, so Node copies them with the structured clone
// algorithm, or moves buffers listed in transferList.
//
// Goroutines share one heap, so crew does not copy by default: a message is
// handed over, like an entry in a transferList. A [Port] is a typed mailbox;
// [NewChannel] returns two linked [Endpoint] values; a [Topic] broadcasts to
// every [Subscription]; [Request] posts an [Envelope] and waits for the one
// reply. Receiving is an ordinary call ([Port.Recv]) or a channel in a
// select ([Port.C]), not an event handler.
//
//	Node                                crew
//	worker.postMessage / parentPort     Port.Send / Port.Recv
//	port.on('message')                  Port.Recv in a loop, or select on Port.C
//	receiveMessageOnPort(port)          Port.TryRecv
//	new MessageChannel()                NewChannel[A, B](ChannelOptions{})
//	new BroadcastChannel(name)          NewTopic, Topic.Subscribe, Topic.Publish
//	bc.close()                          Subscription.Unsubscribe
//	port.close()                        Port.Close, Endpoint.Close
//	structured clone                    Options.Clone
//	transferList                        the default: ownership moves on Send
//	request/response over a port        Request, Envelope.Reply
//
// # Ownership
//
// A message is owned by its receiver once sent: the sender must not read or
// write it again, nor anything it points to. Where that is hard to
// guarantee, set [Options.Clone] so that the port copies each message on
// send and the receiver gets a value nobody else can reach. Run tests with
// -race: it reports a sender that kept using a message it sent.
//
// # Order, bounds and closing
//
// Each port delivers in FIFO order: messages from one sender arrive in the
// order that sender sent them. Nothing is promised across senders or across
// ports. Every port is bounded; when it is full its [Policy] decides:
// [Block] (the default) makes Send wait, bounded by its ctx; [Fail] returns
// [ErrFull]; [DropOldest] and [DropNewest] discard a message, count it in
// Stats and hand it to [Options.OnDrop], so drops are never silent.
//
// Close never loses an accepted message and never makes a sender panic:
// Send returns [ErrClosed], while receivers drain what is buffered and then
// get [ErrClosed] (and C is closed).
//
// # Cost
//
// A port keeps its messages in a lock-free ring buffer: a send or a receive
// claims its place with one compare-and-swap, senders and receivers do not
// take a common lock, and a receiver that finds the port empty yields the
// processor before it sleeps. Port send+recv costs less than a buffered
// channel of the same size in the project's benchmarks (docs/benchmarks.md).
// A select needs a real channel, so the first call to [Port.C] moves the
// buffered messages, in order, into one, and the port works as a channel
// from then on, at about the price of a channel plus two atomic operations
// per send. Recv, TryRecv and C may be mixed at any time; call C only on
// ports you select on.
//
// # Example
//
//	port := messaging.NewPort(messaging.Options[string]{Capacity: 16})
//	go func() {
//		defer port.Close()
//		_ = port.Send(ctx, "hello")
//	}()
//	for msg := range port.C() {
//		fmt.Println(msg)
//	}
package messaging
