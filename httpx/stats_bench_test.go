package httpx_test

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/crewkit/crew/httpx"
	"github.com/crewkit/crew/pool"
)

// BenchmarkStatsJSON compares one stats body as StatsHandler writes it
// (pool.Stats converted, plus the runtime's figures) with the baseline of
// encoding pool.Stats as it is, and shows ReadRuntime's share.
func BenchmarkStatsJSON(b *testing.B) {
	p, err := pool.NewTasks(pool.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(bg) })
	enc := json.NewEncoder(io.Discard)
	b.Run("baseline-pool-stats", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = enc.Encode(p.Stats())
		}
	})
	b.Run("stats-and-runtime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = enc.Encode(httpx.StatsOf(p.Stats(), httpx.ReadRuntime()))
		}
	})
	b.Run("read-runtime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = httpx.ReadRuntime()
		}
	})
}
