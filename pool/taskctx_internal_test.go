package pool

import (
	"context"
	"errors"
	"testing"
)

func TestAKeptContextEndsAsCanceledWhateverItsParentDoesLater(t *testing.T) {
	why := errors.New("client left later")
	parent, cancel := context.WithCancelCause(context.Background())
	c := &core{}
	c.unbuilt.core = c
	tc := newTaskCtx(parent, c, 0)
	tc.finish(false) // task returned; nothing materialised
	cancel(why)      // the submitter's ctx ends afterwards
	real, rc := context.WithCancelCause(context.WithValue(context.Background(), poolKey{}, c))
	rc(nil)
	t.Logf("lazy: Err=%v Cause=%v; real: Err=%v Cause=%v", tc.Err(), context.Cause(tc), real.Err(), context.Cause(real))
	if context.Cause(tc) != context.Canceled {
		t.Fatalf("cause after finish = %v, want context.Canceled", context.Cause(tc))
	}
}
