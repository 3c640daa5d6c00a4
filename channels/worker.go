package channels

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
)

// pendingPage is how many queue items a worker reads from the store at once.
const pendingPage = 256

// storeRetryDelay is how long a worker waits after the store failed.
const storeRetryDelay = time.Second

// workerSpec is what a worker delivers with; a reload reuses a running
// worker when its spec is unchanged.
type workerSpec struct {
	Dest   *DestinationConfig // a destination queue
	Return *ReturnConfig      // the return queue
	Retry  RetryConfig
}

// worker delivers one queue ("<channel>/<dest>" or "<channel>/return") in
// ID order, one attempt at a time (or several for destinations with a
// concurrency setting), with per-patient ordering: an item
// whose patient has an earlier item waiting for a retry is held back, other
// patients' items proceed. Its goroutine is owned by the Engine: started by
// start, stopped (after the current attempt) by signalStop and wait.
type worker struct {
	e                    *Engine
	queue, channel, dest string
	isReturn             bool
	spec                 workerSpec
	d                    Destination
	timeout              time.Duration // bound of one attempt
	concurrency          int           // attempts at once (Destination.Send calls in parallel)
	schedule             *cronSchedule // nil: real time
	log                  zerolog.Logger
	pipe                 atomic.Pointer[pipeline] // the channel's current configuration

	wakeC    chan struct{} // one slot: new items or a reload
	stopC    chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	cancel   context.CancelFunc // nil until start; cancels the attempt in flight at a hard stop

	lastErrMu sync.Mutex
	lastErr   string // the last failure logged (attempts may run concurrently)

	// Successful deliveries are recorded in the store in the background
	// while the next item is sent, so a fast destination is not paced by
	// one store sync per message (concurrent records share syncs). A pass
	// waits for them before it ends, so the next pass never sees an item
	// already sent.
	recording sync.WaitGroup
	recSlots  chan struct{} // bounds the records in flight
}

// maxRecordsInFlight bounds a worker's background delivery records.
const maxRecordsInFlight = 64

// newWorker builds the worker of queue channel/dest and its destination,
// without connecting.
func (e *Engine) newWorker(channel, dest string, spec workerSpec) (*worker, error) {
	w := &worker{
		e: e, queue: queueName(channel, dest), channel: channel, dest: dest, spec: spec,
		isReturn: spec.Return != nil,
		wakeC:    make(chan struct{}, 1), stopC: make(chan struct{}), done: make(chan struct{}),
		recSlots: make(chan struct{}, maxRecordsInFlight),
	}
	w.log = e.log.With().Str("channel", channel).Str("dest", dest).Logger()
	var err error
	if w.isReturn {
		w.d, err = buildReturnDestination(*spec.Return, w.log)
		w.timeout = mllpAttemptTimeout(spec.Return.MLLP.WithDefaults().ACKTimeout, spec.Return.MLLP.WithDefaults().DialTimeout, spec.Return.MLLP.WithDefaults().MaxAttempts)
	} else {
		w.d, err = buildDestination(*spec.Dest, w.log)
		w.timeout = attemptTimeout(*spec.Dest)
		w.concurrency = spec.Dest.concurrency()
		if spec.Dest.Schedule != "" && err == nil {
			w.schedule, err = parseCron(spec.Dest.Schedule)
		}
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// attemptTimeout bounds one delivery attempt of d, above the destination's
// own timeouts, so that a stuck peer cannot stall the queue for ever.
func attemptTimeout(d DestinationConfig) time.Duration {
	switch {
	case d.MLLP != nil:
		c := d.MLLP.WithDefaults()
		return mllpAttemptTimeout(c.ACKTimeout, c.DialTimeout, c.MaxAttempts)
	case d.HTTP != nil:
		return d.HTTP.Timeout + 5*time.Second
	case d.IIS != nil:
		c := d.IIS.ClientConfig.WithDefaults()
		n := time.Duration(max(c.MaxRetries, 0))
		return c.Timeout*(n+1) + c.RetryWaitMax*n + 5*time.Second
	}
	return 30 * time.Second
}

func mllpAttemptTimeout(ack, dial time.Duration, attempts int) time.Duration {
	return ack + time.Duration(attempts)*(dial+time.Second)
}

// start runs the worker's loop in its goroutine.
func (w *worker) start() {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() {
		defer close(w.done)
		defer cancel()
		w.run(ctx)
	}()
}

// running reports whether start was called.
func (w *worker) running() bool { return w.cancel != nil }

// poke wakes the worker without blocking.
func (w *worker) poke() {
	select {
	case w.wakeC <- struct{}{}:
	default:
	}
}

// signalStop asks the worker to stop after its current attempt.
func (w *worker) signalStop() { w.stopOnce.Do(func() { close(w.stopC) }) }

// stopping reports whether signalStop was called.
func (w *worker) stopping() bool {
	select {
	case <-w.stopC:
		return true
	default:
		return false
	}
}

// wait waits for the stopped worker's goroutine. When ctx ends first it
// cancels the attempt in flight (the item stays queued) and waits for the
// goroutine to notice.
func (w *worker) wait(ctx context.Context) error {
	if w.cancel == nil {
		return nil
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.cancel()
		<-w.done
		return fmt.Errorf("stop worker %q: %w", w.queue, context.Cause(ctx))
	}
}

// run loops over the queue until stopped: a pass over the due items, then
// a wait for a commit, a reload or the next retry.
func (w *worker) run(ctx context.Context) {
	if w.spec.Dest != nil && w.spec.Dest.Paused {
		<-w.stopC // the queue fills; a reload that resumes it starts a new worker
		return
	}
	if w.schedule != nil {
		w.runScheduled(ctx)
		return
	}
	for {
		next := w.pass(ctx)
		if w.stopping() || ctx.Err() != nil {
			return
		}
		var (
			t     *time.Timer
			timer <-chan time.Time
		)
		if !next.IsZero() {
			t = time.NewTimer(max(next.Sub(w.e.now()), 0))
			timer = t.C
		}
		select {
		case <-w.wakeC:
		case <-timer:
		case <-w.stopC:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// runScheduled is run for a destination with a schedule: it sleeps until
// each tick, then delivers what is queued, and the retries that fall due
// before the next tick; commits in between only fill the queue.
func (w *worker) runScheduled(ctx context.Context) {
	for {
		tick := w.schedule.next(w.e.now())
		if tick.IsZero() || !w.sleepUntil(tick) {
			return
		}
		for {
			next := w.pass(ctx)
			if w.stopping() || ctx.Err() != nil {
				return
			}
			if next.IsZero() || !next.Before(w.schedule.next(w.e.now())) {
				break
			}
			if !w.sleepUntil(next) {
				return
			}
		}
	}
}

// sleepUntil waits for t; false when the worker is stopped first.
func (w *worker) sleepUntil(t time.Time) bool {
	timer := time.NewTimer(max(t.Sub(w.e.now()), 0))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-w.stopC:
		return false
	}
}

// pass delivers every due item in ID order and returns when the next
// held-back retry is due (zero when none). Up to w.concurrency attempts run
// at once (1 for destinations that take one message at a time), never two
// of the same patient: an item whose patient has an attempt in flight
// waits for its outcome, and is held back if that attempt is to be retried.
func (w *worker) pass(ctx context.Context) (next time.Time) {
	defer w.recording.Wait()
	var (
		mu        sync.Mutex                   // guards held and next, set by finishing attempts
		held      = map[string]bool{}          // patients with an earlier item waiting for a retry
		inflight  = map[string]chan struct{}{} // patient → its attempt's done (dispatcher only)
		sem       = make(chan struct{}, max(w.concurrency, 1))
		attempts  sync.WaitGroup
		storeDown atomic.Bool
	)
	soonest := func(t time.Time) { // under mu
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	finish := func() time.Time {
		attempts.Wait()
		if storeDown.Load() {
			return w.e.now().Add(storeRetryDelay)
		}
		return next
	}
	var after store.ID
	for {
		items, err := w.e.st.Pending(w.queue, after, pendingPage)
		if err != nil {
			attempts.Wait()
			w.failed(err, "store failing")
			return w.e.now().Add(storeRetryDelay)
		}
		for _, it := range items {
			after = it.ID
			if w.stopping() || ctx.Err() != nil || storeDown.Load() {
				return finish()
			}
			p := it.PatientRef
			if done := inflight[p]; done != nil {
				<-done // keep the patient's order: its outcome decides
				delete(inflight, p)
			}
			mu.Lock()
			skip := p != "" && held[p]
			if !skip && it.NextAttempt.After(w.e.now()) {
				soonest(it.NextAttempt)
				held[p] = p != ""
				skip = true
			}
			mu.Unlock()
			if skip {
				continue
			}
			sem <- struct{}{}
			if storeDown.Load() { // an attempt that ended meanwhile found the store failing
				<-sem
				return finish()
			}
			done := make(chan struct{})
			if p != "" {
				inflight[p] = done
			}
			attempts.Go(func() {
				defer close(done)
				defer func() { <-sem }()
				retryAt, ok := w.attempt(ctx, it)
				if !ok {
					storeDown.Store(true)
				}
				if !retryAt.IsZero() {
					mu.Lock()
					soonest(retryAt)
					held[p] = p != ""
					mu.Unlock()
				}
			})
		}
		for p, done := range inflight { // forget finished attempts
			select {
			case <-done:
				delete(inflight, p)
			default:
			}
		}
		if len(items) < pendingPage {
			return finish()
		}
	}
}

// failed logs err at warn when it differs from the last failure logged.
func (w *worker) failed(err error, msg string) {
	if w.changedErr(err.Error()) {
		w.log.Warn().Err(err).Msg(msg)
	}
}

// changedErr records s as the last failure ("" after a success) and
// reports whether it differs from the one before, so that a failure is
// logged when it first happens and when it changes, not at every attempt.
func (w *worker) changedErr(s string) bool {
	w.lastErrMu.Lock()
	defer w.lastErrMu.Unlock()
	changed := s != w.lastErr
	w.lastErr = s
	return changed
}
