package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/crewkit/crew/wire"
)

// endpoint is one side of a channel: the stream it reads and the one it
// writes, with writes serialised.
type endpoint struct {
	r io.Reader
	w io.Writer

	wmu  sync.Mutex
	enc  wire.Encoder
	dec  wire.Decoder
	done chan struct{} // closed when the read loop returns
	err  error         // why it returned; read after done is closed

	closeOnce sync.Once
}

func newEndpoint(r io.Reader, w io.Writer) *endpoint {
	return &endpoint{r: r, w: w, enc: wire.JSON.NewEncoder(), dec: wire.JSON.NewDecoder(), done: make(chan struct{})}
}

// deadliner is a writer whose writes can be interrupted, as *os.File's can.
type deadliner interface {
	SetWriteDeadline(t time.Time) error
}

// write sends one frame holding v's encoding. It returns when the frame is
// written, or when ctx ends if the writer supports deadlines; a frame cut
// off by ctx leaves the stream unusable, so the endpoint is closed then.
func (e *endpoint) write(ctx context.Context, kind byte, id uint64, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	select {
	case <-e.done:
		return ErrClosed
	default:
	}
	body, err := e.enc.Encode(v)
	if err != nil {
		return err
	}
	d, ok := e.w.(deadliner)
	if !ok {
		return e.finish(wire.WriteFrame(e.w, wire.Frame{Kind: kind, ID: id, Body: body}, MaxFrame))
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = d.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	err = wire.WriteFrame(e.w, wire.Frame{Kind: kind, ID: id, Body: body}, MaxFrame)
	if !stop() {
		<-fired
		_ = d.SetWriteDeadline(time.Time{})
		if err != nil {
			e.close()
			return fmt.Errorf("ipc: write: %w", ctx.Err())
		}
	}
	return e.finish(err)
}

// finish maps a write error to ErrClosed when the peer is gone.
func (e *endpoint) finish(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrClosed), errors.Is(err, io.ErrClosedPipe), errors.Is(err, errBrokenPipe):
		return ErrClosed
	}
	return fmt.Errorf("ipc: write: %w", err)
}

// read loops over incoming frames, calling handle for each, until the
// stream ends or handle returns an error; then it closes done.
func (e *endpoint) read(handle func(wire.Frame) error) {
	defer close(e.done)
	for {
		f, err := wire.ReadFrame(e.r, MaxFrame)
		if err == nil {
			err = handle(f)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, ErrClosed) {
				e.err = err
			}
			return
		}
	}
}

// close closes both streams, once, which ends the read loop.
func (e *endpoint) close() {
	e.closeOnce.Do(func() {
		if c, ok := e.r.(io.Closer); ok {
			_ = c.Close()
		}
		if c, ok := e.w.(io.Closer); ok {
			_ = c.Close()
		}
	})
}

// shutdown closes both streams and returns the error that ended the read
// loop, if any, once it has returned.
func (e *endpoint) shutdown() error {
	e.close()
	<-e.done
	return e.err
}
