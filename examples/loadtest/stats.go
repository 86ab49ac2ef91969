package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// poolStats is the part of the server's /debug/pool JSON (on its admin
// listener) that the load test reads: httpx.Stats in pool mode. Other
// modes serve no counters.
type poolStats struct {
	Completed *int64 `json:"completed"` // nil outside pool mode
	Busy      int    `json:"busy"`
	Queued    int    `json:"queued"`
}

// completed waits until srv's pool is idle (no task queued or running) and
// returns the tasks it has completed since it started, or -1 when srv has
// no pool. It waits at most 10 seconds.
func completed(ctx context.Context, c *http.Client, srv *server) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := fetchStats(ctx, c, "http://"+srv.admin+"/debug/pool")
		switch {
		case err != nil:
			return 0, err
		case st.Completed == nil:
			return -1, nil
		case st.Busy == 0 && st.Queued == 0:
			return *st.Completed, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the pool was still busy: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func fetchStats(ctx context.Context, c *http.Client, url string) (poolStats, error) {
	var st poolStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("GET %s: %w", url, err)
	}
	return st, nil
}
