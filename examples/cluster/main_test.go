package main

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	t.Run("the command after the flags runs in every child", func(t *testing.T) {
		c, err := parse([]string{"-n", "3", "-addr", "127.0.0.1:9000", "--", "./server", "-mode", "plain"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, []string{"./server", "-mode", "plain"}, c.opts.Command)
		require.Equal(t, 3, c.opts.Instances)
		require.Equal(t, "127.0.0.1:9000", c.opts.Addr)
	})
	t.Run("a missing command is explained with the usage", func(t *testing.T) {
		var usage strings.Builder
		_, err := parse([]string{"-n", "2"}, &usage)
		require.EqualError(t, err, "no command to run; put it after --")
		require.Contains(t, usage.String(), "usage: cluster [flags] -- command [args...]")
	})
	t.Run("fewer than one process is refused", func(t *testing.T) {
		_, err := parse([]string{"-n", "0", "--", "./server"}, io.Discard)
		require.EqualError(t, err, "-n must be at least 1, got 0")
	})
}
