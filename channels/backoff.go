package channels

import (
	"math/rand/v2"
	"time"
)

// backoff is the wait before the next attempt after attempts failed ones:
// InitialBackoff doubled per further attempt, capped at MaxBackoff, then
// jittered uniformly into [d/2, d] so that queues failing together do not
// retry in lockstep.
func backoff(r RetryConfig, attempts int) time.Duration {
	d := r.InitialBackoff
	for i := 1; i < attempts && d < r.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.MaxBackoff)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}
