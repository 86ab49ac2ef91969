package wire_test

import (
	"testing"

	"github.com/crewkit/crew/wire"
	"github.com/stretchr/testify/require"
)

type payload struct {
	Name string
	N    int
	Any  any
}

type unregistered struct{ X int }

func TestCodecs(t *testing.T) {
	for _, c := range []wire.Codec{wire.Gob, wire.JSON} {
		t.Run(c.Name()+" carries a sequence of values on one stream", func(t *testing.T) {
			enc, dec := c.NewEncoder(), c.NewDecoder()
			for i := range 5 {
				b, err := enc.Encode(payload{Name: "p", N: i})
				require.NoError(t, err)
				var got payload
				require.NoError(t, dec.Decode(b, &got))
				require.Equal(t, payload{Name: "p", N: i}, got)
			}
		})
		t.Run(c.Name()+" is found by its name", func(t *testing.T) {
			got, err := wire.ByName(c.Name())
			require.NoError(t, err)
			require.Equal(t, c, got)
		})
	}
	t.Run("gob describes a type once per stream", func(t *testing.T) {
		enc := wire.Gob.NewEncoder()
		first, err := enc.Encode(payload{Name: "p", N: 1})
		require.NoError(t, err)
		n1 := len(first)
		second, err := enc.Encode(payload{Name: "p", N: 1})
		require.NoError(t, err)
		require.Less(t, len(second), n1/2, "the second frame carries no type description")
	})
	t.Run("a value gob cannot encode fails alone and the stream goes on", func(t *testing.T) {
		enc, dec := wire.Gob.NewEncoder(), wire.Gob.NewDecoder()
		_, err := enc.Encode(payload{Name: "bad", Any: unregistered{X: 1}})
		require.ErrorContains(t, err, "wire: gob")
		b, err := enc.Encode(payload{Name: "good", N: 2})
		require.NoError(t, err)
		var got payload
		require.NoError(t, dec.Decode(b, &got))
		require.Equal(t, payload{Name: "good", N: 2}, got)
		b, err = enc.Encode(payload{Name: "again", N: 3})
		require.NoError(t, err)
		got = payload{}
		require.NoError(t, dec.Decode(b, &got))
		require.Equal(t, "again", got.Name)
	})
	t.Run("a value JSON cannot encode fails alone", func(t *testing.T) {
		enc, dec := wire.JSON.NewEncoder(), wire.JSON.NewDecoder()
		_, err := enc.Encode(payload{Any: make(chan int)})
		require.ErrorContains(t, err, "wire: json")
		b, err := enc.Encode(payload{Name: "ok"})
		require.NoError(t, err)
		var got payload
		require.NoError(t, dec.Decode(b, &got))
		require.Equal(t, "ok", got.Name)
	})
	t.Run("garbage is a decode error", func(t *testing.T) {
		var got payload
		require.ErrorContains(t, wire.Gob.NewDecoder().Decode([]byte{1, 2, 3, 4}, &got), "wire: gob")
		require.ErrorContains(t, wire.JSON.NewDecoder().Decode([]byte("{"), &got), "wire: json")
	})
	t.Run("an unknown codec name is an error that lists the known ones", func(t *testing.T) {
		_, err := wire.ByName("xml")
		require.EqualError(t, err, `wire: unknown codec "xml" (want gob or json)`)
	})
}
