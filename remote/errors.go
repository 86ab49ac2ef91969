package remote

import "errors"

var (
	// ErrNoMembers means no member serves the service: NATS kept answering
	// "no responders" until Options.NoMembersWait passed (or at once, when
	// it is negative). In durable mode it means no member has created the
	// service's stream.
	ErrNoMembers = errors.New("remote: no member answers")

	// ErrMemberLost means the member running a task went silent (it died,
	// or lost its connection) and the call was not marked idempotent, so
	// it was not sent again. The task may or may not have run. The error
	// is marked pool.Fatal: the caller's pool counts it as a crash of the
	// worker and rebuilds it under its RestartPolicy.
	ErrMemberLost = errors.New("remote: member lost mid-task")

	// ErrTooLarge means an encoded request or reply is larger than the
	// payload limit.
	ErrTooLarge = errors.New("remote: payload too large")

	// ErrUndecodable means a request or reply could not be decoded: the
	// two sides disagree on the type or the codec.
	ErrUndecodable = errors.New("remote: undecodable payload")
)
