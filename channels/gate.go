package channels

import (
	"context"
	"fmt"
	"sync"
)

// gate counts calls in flight through a source that the engine does not
// own the goroutines of (HTTP requests), so that Shutdown can refuse new
// ones and wait for the running ones to write their ACKs.
type gate struct {
	mu     sync.Mutex // guards the fields below; taken after Engine.mu
	closed bool
	n      int
	idle   chan struct{} // closed when n drops to 0 after close
}

// enter admits one call; false after close.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// leave ends a call admitted by enter.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// close refuses new calls and waits, bounded by ctx, for those in flight.
func (g *gate) close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("http sources: %w", context.Cause(ctx))
	}
}
