package remote

import (
	"context"
	"sync"
	"time"
)

// cancels holds a member's cancellable tasks by key, so that a cancel from
// the caller ends the right task's ctx.
//
// A request and its cancel travel on two subscriptions, each served by its
// own goroutine, so a cancel can overtake a request that waits behind
// others. A cancel for no task the member holds is therefore kept for a
// while, and a request that arrives after its cancel never starts. Every
// member receives every cancel of its service, most of them for tasks that
// other members hold, so those are kept for earlyTTL and at most earlyKept
// of them: past that many within earlyTTL (a storm of cancels) a cancel
// that overtakes its request is missed, and the task runs to its end.
type cancels struct {
	mu    sync.Mutex
	live  map[taskKey]context.CancelFunc
	early map[taskKey]time.Time
}

const (
	earlyKept = 1024
	earlyTTL  = 10 * time.Second
)

// add registers the cancel of the task key. It reports false, and keeps
// nothing, when the task's cancel came first.
func (c *cancels) add(key taskKey, cancel context.CancelFunc) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.early[key]; ok {
		delete(c.early, key)
		return false
	}
	if c.live == nil {
		c.live = make(map[taskKey]context.CancelFunc)
	}
	c.live[key] = cancel
	return true
}

// remove forgets the task key, once it resolved.
func (c *cancels) remove(key taskKey) {
	c.mu.Lock()
	delete(c.live, key)
	c.mu.Unlock()
}

// cancel ends the ctx of the task key, or remembers the cancel, at now,
// for a task not seen yet.
func (c *cancels) cancel(key taskKey, now time.Time) {
	c.mu.Lock()
	if f, ok := c.live[key]; ok {
		c.mu.Unlock()
		f()
		return
	}
	defer c.mu.Unlock()
	if len(c.early) >= earlyKept {
		for k, at := range c.early {
			if now.Sub(at) > earlyTTL {
				delete(c.early, k)
			}
		}
		if len(c.early) >= earlyKept {
			return
		}
	}
	if c.early == nil {
		c.early = make(map[taskKey]time.Time)
	}
	c.early[key] = now
}
