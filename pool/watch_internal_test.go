package pool

import (
	"context"
	"testing"
)

func TestWatchRacingADrainLeavesNoCallback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leaks := 0
	for i := 0; i < 20000 && leaks == 0; i++ {
		f := &Future[int]{ctx: ctx, done: make(chan struct{})}
		go f.resolve(0, ErrClosed) // a drain resolving the queued task
		f.watch(ctx)               // submit, right after enqueue
		<-f.done
		if f.watched.Load() == watchSet {
			leaks++ // AfterFunc still registered on ctx, holding f, after resolution
		}
	}
	if leaks > 0 {
		t.Fatalf("watch left its AfterFunc registered on a resolved future")
	}
}
