package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/crewkit/crew/pool"
	"github.com/crewkit/crew/wire"
	"github.com/nats-io/nats.go"
)

// mailSubject is where messages for a service's workers go. Every member
// of the service listens on it, not in a queue group, and hands each
// message to its pool's Broadcast.
func mailSubject(service string) string { return "crew.mail." + service }

// envelope carries a message whose type the receiver does not know: with
// gob its concrete type must be registered (gob.Register) on both sides,
// unless it is one of gob's built-in types. Each message is encoded on its
// own, as messages are rare and go to members that keep no stream with the
// sender.
type envelope struct{ V any }

// Broadcast sends msg to every worker of every member of service, in core
// or durable mode: each member hands it to its pool's Broadcast, and each
// of that pool's workers that implements pool.Receiver receives it between
// two tasks. It is what a message to a remote worker means: a caller's
// worker is a proxy in front of the whole service, so Pool.Send to one of
// a caller pool's workers does the same (and Pool.Broadcast on a caller
// pool does it once per worker of that pool, so that each member's worker
// receives one copy per caller worker: call Broadcast, or Send to one
// worker, to deliver it once).
//
// Delivery is at most once, to the members connected at that moment: a
// member that starts later does not receive it, and Broadcast does not
// wait for any member (it returns once NATS has the message). A member
// that cannot decode it, or whose workers' mailboxes are full, reports it
// to its MemberOptions.OnError or DurableOptions.OnError. codec must be
// the members' codec; nil means wire.Gob. An encoded message larger than
// the connection's payload limit fails with ErrTooLarge.
func Broadcast(nc *nats.Conn, service string, msg any, codec wire.Codec) error {
	if codec == nil {
		codec = wire.Gob
	}
	return sendMail(nc, service, codec, int(nc.MaxPayload()), msg)
}

// sendMail encodes msg in an envelope, behind its codec's name, and
// publishes it to the service's members.
func sendMail(nc *nats.Conn, service string, codec wire.Codec, limit int, msg any) error {
	body, err := codec.NewEncoder().Encode(&envelope{V: msg})
	if err != nil {
		return fmt.Errorf("remote: encode message for %q: %w", service, err)
	}
	name := codec.Name()
	data := append(append([]byte{byte(len(name))}, name...), body...)
	if len(data) > limit {
		return fmt.Errorf("%w: message of %d bytes over the %d-byte limit", ErrTooLarge, len(data), limit)
	}
	if err := nc.Publish(mailSubject(service), data); err != nil {
		return fmt.Errorf("remote: send message to %q: %w", service, err)
	}
	return nil
}

// Receive forwards a message from the caller pool's owner (Pool.Send,
// Pool.Broadcast) to every member of the service, as Broadcast does. A
// closed connection is fatal to the worker, as it is for a task.
func (w *caller[In, Out]) Receive(_ context.Context, msg any) error {
	err := sendMail(w.c.nc, w.c.service, w.c.opts.Codec, w.c.max, msg)
	if errors.Is(err, nats.ErrConnectionClosed) {
		return pool.Fatal(err)
	}
	return err
}

// deliverMail subscribes to the service's messages and hands each to p's
// Broadcast, reporting what it cannot deliver to onError.
func deliverMail[In, Out any](nc *nats.Conn, service string, codec wire.Codec, p *pool.Pool[In, Out], onError func(error)) (*nats.Subscription, error) {
	if onError == nil {
		onError = func(err error) { slog.Error("message undelivered", "service", service, "err", err) }
	}
	return nc.Subscribe(mailSubject(service), func(m *nats.Msg) {
		v, err := decodeMail(service, codec, m.Data)
		if err != nil {
			onError(err)
			return
		}
		if _, err := p.Broadcast(v); err != nil {
			onError(fmt.Errorf("remote: message for %q undelivered: %w", service, err))
		}
	})
}

// decodeMail reads a message for service that sendMail wrote.
func decodeMail(service string, codec wire.Codec, data []byte) (any, error) {
	if len(data) == 0 || len(data) < 1+int(data[0]) {
		return nil, fmt.Errorf("%w: message for %q without a codec name", ErrUndecodable, service)
	}
	name, body := string(data[1:1+int(data[0])]), data[1+int(data[0]):]
	if name != codec.Name() {
		return nil, fmt.Errorf("%w: message for %q in codec %s, member decodes %s", ErrUndecodable, service, name, codec.Name())
	}
	var env envelope
	if err := codec.NewDecoder().Decode(body, &env); err != nil {
		return nil, fmt.Errorf("%w: message for %q: %w", ErrUndecodable, service, err)
	}
	return env.V, nil
}

// unsubscribe ends subs, skipping those not made or already ended.
func unsubscribe(subs ...*nats.Subscription) error {
	var errs []error
	for _, s := range subs {
		if s == nil {
			continue
		}
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
