package manager

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTail(t *testing.T) {
	t.Run("lines written in pieces are kept whole, access logs left out", func(t *testing.T) {
		tl := &tail{skip: accessLog}
		for _, piece := range []string{
			"first li", "ne\n{\"msg\":\"request\",\"path\":\"/\"}\n",
			"time=now level=INFO msg=request path=/x\n\n",
			`{"msg":"requests served","n":3}` + "\nunfinished",
		} {
			n, err := tl.Write([]byte(piece))
			require.NoError(t, err)
			require.Equal(t, len(piece), n)
		}
		require.Equal(t, Tail{"first line", `{"msg":"requests served","n":3}`, "unfinished"}, tl.Lines())
	})
	t.Run("only the last TailLines lines are kept, each cut at TailLineBytes", func(t *testing.T) {
		tl := &tail{skip: accessLog}
		for i := range 3 * TailLines {
			fmt.Fprintf(tl, "line %d\n", i)
		}
		long := strings.Repeat("x", 3*TailLineBytes)
		fmt.Fprintln(tl, long)
		lines := tl.Lines()
		require.Len(t, lines, TailLines)
		require.Equal(t, fmt.Sprintf("line %d", 2*TailLines+1), lines[0])
		require.Equal(t, long[:TailLineBytes], lines[TailLines-1])
	})
	t.Run("a JSON line marshals as JSON, any other line as a string", func(t *testing.T) {
		b, err := Tail{`{"msg":"disk full"}`, "panic: boom", "[1, 2"}.MarshalJSON()
		require.NoError(t, err)
		require.JSONEq(t, `[{"msg":"disk full"},"panic: boom","[1, 2"]`, string(b))
	})
	t.Run("an exit error reads on one line", func(t *testing.T) {
		e := &ExitError{Stderr: Tail{"a", "b"}}
		require.Equal(t, "exit status 0; its stderr ends with: a | b", e.Error())
	})
}
