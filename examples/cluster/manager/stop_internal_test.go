package manager

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStopAfterACrash(t *testing.T) {
	t.Run("a child that exited just before Stop is reported as a crash, never as a failed stop", func(t *testing.T) {
		// The instance's goroutine finds both the child's exit and Stop
		// ready; which it sees first must not change what Stop returns.
		for range 64 {
			var mu sync.Mutex
			var kinds []EventKind
			opts, err := Options{Command: []string{"server"}}.withDefaults()
			require.NoError(t, err)
			m := &Manager{opts: opts, stopping: make(chan struct{}), event: func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				kinds = append(kinds, e.Kind)
			}}
			c := &child{pid: 42, exited: make(chan struct{}), err: errors.New("exit status 3"), tail: &tail{}}
			close(c.exited)
			close(m.stopping)
			in := newInstance(m, 0, c)
			in.run()
			require.NoError(t, in.stopErr())
			st := in.status()
			require.Equal(t, StateStopped, st.State)
			require.Contains(t, st.LastExit, "exit status 3")
			require.Contains(t, kinds, EventExited)
			require.NotContains(t, kinds, EventStopped)
		}
	})
}
