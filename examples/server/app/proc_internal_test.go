package app

import (
	"context"
	"testing"
	"time"

	"github.com/crewkit/crew/httpx"
	"github.com/stretchr/testify/require"
)

// countingWorker counts the jobs that reach it.
type countingWorker struct{ jobs, closed int }

func (w *countingWorker) Handle(_ context.Context, j Job) (Result, error) {
	w.jobs++
	return Result{Digest: []byte(j.Kind)}, nil
}

func (w *countingWorker) Close(context.Context) error { w.closed++; return nil }

func TestShedding(t *testing.T) {
	t.Run("a job that waited past the budget is shed before it reaches the child", func(t *testing.T) {
		w := &countingWorker{}
		_, err := shedding{w: w, budget: budget(0)}.Handle(context.Background(), Job{Kind: jobDigest, queued: time.Now().Add(-2 * httpx.DefaultMaxWait)})
		require.ErrorIs(t, err, httpx.ErrOverloaded)
		require.Zero(t, w.jobs)
	})
	t.Run("a job within the budget runs on the child", func(t *testing.T) {
		w := &countingWorker{}
		out, err := shedding{w: w, budget: budget(0)}.Handle(context.Background(), Job{Kind: jobDigest, queued: time.Now()})
		require.NoError(t, err)
		require.Equal(t, []byte(jobDigest), out.Digest)
		require.Equal(t, 1, w.jobs)
	})
	t.Run("Config.MaxWait sets the budget, and a negative one never sheds", func(t *testing.T) {
		queued := time.Now().Add(-2 * httpx.DefaultMaxWait)
		for _, maxWait := range []time.Duration{4 * httpx.DefaultMaxWait, -1} {
			w := &countingWorker{}
			_, err := shedding{w: w, budget: budget(maxWait)}.Handle(context.Background(), Job{Kind: jobDigest, queued: queued})
			require.NoError(t, err)
			require.Equal(t, 1, w.jobs, "MaxWait %v", maxWait)
		}
		w := &countingWorker{}
		_, err := shedding{w: w, budget: budget(httpx.DefaultMaxWait / 4)}.Handle(context.Background(),
			Job{Kind: jobDigest, queued: time.Now().Add(-httpx.DefaultMaxWait / 2)})
		require.ErrorIs(t, err, httpx.ErrOverloaded)
		require.Zero(t, w.jobs)
	})
	t.Run("closing the worker closes the child's worker", func(t *testing.T) {
		w := &countingWorker{}
		require.NoError(t, shedding{w: w}.Close(context.Background()))
		require.Equal(t, 1, w.closed)
	})
}
