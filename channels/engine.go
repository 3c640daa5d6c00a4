package channels

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
)

// Options are the engine's dependencies that are not configuration.
type Options struct {
	// PatientKey is the HMAC key of patient_ref (STYLE §7). Required: an
	// unkeyed hash of an MRN can be reversed by brute force.
	PatientKey []byte
	// Registerer receives the engine's metrics; nil uses a private registry.
	Registerer prometheus.Registerer
	// HTTPMux is where HTTP sources are mounted (the API listener). Required
	// when a channel has an HTTP source.
	HTTPMux *http.ServeMux
	// Now is the clock of received-at times, ACK headers and retry times.
	// Default time.Now.
	Now func() time.Time
}

// Engine runs the channels of a Config: sources, the receive path, queue
// workers and the return channel. Create it with New, run it with Start,
// reconfigure it with Apply and stop it with Shutdown. The *store.Store is
// the caller's: it must stay open until Shutdown has returned.
type Engine struct {
	st         *store.Store
	log        zerolog.Logger
	opts       Options
	m          *metrics
	depthEvery time.Duration // how often queue depth gauges are refreshed

	httpGate gate                                 // HTTP requests in the receive path
	routes   atomic.Pointer[map[string]*pipeline] // HTTP path → channel
	workers  atomic.Pointer[map[string]*worker]   // queue → worker, for notify (copy on write)
	bg       sync.WaitGroup                       // the depth publisher
	bgStop   chan struct{}                        // closed by Shutdown
	applyMu  sync.Mutex                           // serializes Start, Apply and Shutdown; taken before mu
	mu       sync.Mutex                           // guards the fields below
	cfg      Config                               // the running (or, before Start, the built) config
	plan     *plan                                // built by New, consumed by Start
	pipes    map[string]*pipeline                 // enabled channels by name
	lis      map[string]*listener                 // MLLP sources by configured address
	dirs     map[string]*dirSource                // directory sources by channel name
	httpPath map[string]bool                      // paths registered on HTTPMux (a ServeMux cannot unregister)
	state    int                                  // stateNew, stateRunning, stateClosed
}

const (
	stateNew = iota
	stateRunning
	stateClosed
)

// ErrClosed is returned by Start, Apply, Reprocess and Resend after Shutdown.
var ErrClosed = errors.New("channels: engine shut down")

// New validates cfg (after WithDefaults), compiles every enabled channel's
// filter and steps and builds its destinations without connecting. It does
// no I/O and starts nothing.
func New(cfg Config, st *store.Store, log zerolog.Logger, opts Options) (*Engine, error) {
	if st == nil {
		return nil, errors.New("channels: nil store")
	}
	if len(opts.PatientKey) == 0 {
		return nil, errors.New("channels: Options.PatientKey is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{
		st: st, log: log, opts: opts,
		m:          newMetrics(opts.Registerer),
		depthEvery: 5 * time.Second,
		bgStop:     make(chan struct{}),
		pipes:      map[string]*pipeline{},
		lis:        map[string]*listener{},
		dirs:       map[string]*dirSource{},
		httpPath:   map[string]bool{},
	}
	registerStoreMetrics(opts.Registerer, st)
	e.routes.Store(&map[string]*pipeline{})
	e.workers.Store(&map[string]*worker{})
	p, err := e.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	e.plan, e.cfg = p, p.cfg
	return e, nil
}

// now is the engine's clock.
func (e *Engine) now() time.Time { return e.opts.Now() }

// Store returns the engine's store.
func (e *Engine) Store() *store.Store { return e.st }

// Start opens the MLLP listeners, mounts the HTTP sources, starts the
// directory pollers and one worker per destination queue (and return
// queue). ctx bounds only the starting. On error everything started is
// stopped again.
func (e *Engine) Start(ctx context.Context) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	state, p := e.state, e.plan
	e.mu.Unlock()
	switch state {
	case stateRunning:
		return errors.New("channels: engine already started")
	case stateClosed:
		return ErrClosed
	}
	if err := e.swap(ctx, p); err != nil {
		e.closeFresh(ctx, p)
		return err
	}
	e.mu.Lock()
	e.state, e.plan = stateRunning, nil
	e.mu.Unlock()
	e.bg.Go(e.publishDepth)
	e.log.Info().Int("channels", len(p.pipes)).Msg("engine started")
	return nil
}

// Shutdown stops the engine in the order of STYLE §5: sources stop taking
// messages and finish the ones in flight (their ACKs are written), then
// queue workers stop after their current attempt, then destinations are
// closed. Undelivered messages stay queued in the store. ctx bounds the
// whole; when it ends, attempts in flight are canceled and its cause is
// returned. The store is left open.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	if e.state == stateClosed {
		e.mu.Unlock()
		return nil
	}
	wasNew := e.state == stateNew
	e.state = stateClosed
	lis, dirs := e.lis, e.dirs
	e.lis, e.dirs, e.pipes = map[string]*listener{}, map[string]*dirSource{}, map[string]*pipeline{}
	e.mu.Unlock()
	if wasNew {
		e.closeFresh(ctx, e.plan)
		return nil
	}

	var errs []error
	e.routes.Store(&map[string]*pipeline{})
	errs = append(errs, e.httpGate.close(ctx))
	for _, l := range lis {
		errs = append(errs, l.shutdown(ctx))
	}
	for _, d := range dirs {
		errs = append(errs, d.halt(ctx))
	}
	ws := *e.workers.Load()
	e.workers.Store(&map[string]*worker{})
	errs = append(errs, stopWorkers(ctx, ws))
	close(e.bgStop)
	e.bg.Wait()
	err := errors.Join(errs...)
	if err != nil {
		e.log.Error().Err(err).Msg("shutdown incomplete")
		return err
	}
	e.log.Info().Msg("engine stopped")
	return nil
}

// stopWorkers stops every worker after its current attempt, then closes
// their destinations.
func stopWorkers(ctx context.Context, ws map[string]*worker) error {
	for _, w := range ws {
		w.signalStop()
	}
	var errs []error
	for _, w := range ws {
		errs = append(errs, w.wait(ctx))
	}
	for q, w := range ws {
		if err := w.d.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close destination %q: %w", q, err))
		}
	}
	return errors.Join(errs...)
}

// notify wakes the worker of queue q, if any; it never blocks.
func (e *Engine) notify(q string) {
	if w := (*e.workers.Load())[q]; w != nil {
		w.poke()
	}
}

// publishDepth refreshes the queue depth gauges until Shutdown.
func (e *Engine) publishDepth() {
	t := time.NewTicker(e.depthEvery)
	defer t.Stop()
	for {
		for _, w := range *e.workers.Load() {
			if n, err := e.st.QueueDepth(w.queue); err == nil {
				e.m.setQueueDepth(w.channel, w.dest, n)
			}
		}
		select {
		case <-t.C:
		case <-e.bgStop:
			return
		}
	}
}
