package loadgen

import (
	"fmt"
	"strings"
)

// Model is how clients pace their requests.
type Model int

const (
	// Open offers Options.Rate requests per second whatever the answers,
	// with at most Options.Clients requests in flight; when all are busy,
	// the next request waits for one of them.
	Open Model = iota
	// Retry is a closed loop: each client sends its next request as soon
	// as it has an answer, a 503 included, as a retry storm does.
	Retry
	// RetryAfter is Retry, except that after a 503 or 429 carrying a
	// Retry-After header the client waits that long before it sends again.
	RetryAfter
	// Abandon is Retry for most clients, but Options.Abandon of them
	// cancel each request after a random time between Options.AbandonMin
	// and Options.AbandonMax, as users who give up or proxies with short
	// timeouts do.
	Abandon
)

var modelNames = [...]string{Open: "open", Retry: "retry", RetryAfter: "retry-after", Abandon: "abandon"}

// String returns the model's name, as ParseModel accepts it.
func (m Model) String() string {
	if m < 0 || int(m) >= len(modelNames) {
		return fmt.Sprintf("Model(%d)", int(m))
	}
	return modelNames[m]
}

// ParseModel returns the model named s: open, retry, retry-after or
// abandon.
func ParseModel(s string) (Model, error) {
	for i, n := range modelNames {
		if n == s {
			return Model(i), nil
		}
	}
	return 0, fmt.Errorf("loadgen: unknown model %q, want one of %s", s, strings.Join(modelNames[:], ", "))
}
