package channels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/mllp"
)

// plan is a configuration built and validated but not yet running: the
// compiled channels and the workers of every queue, reused ones included.
type plan struct {
	cfg     Config
	pipes   map[string]*pipeline // enabled channels by name
	order   []string             // their names in configuration order
	workers map[string]*worker   // every queue of cfg
	fresh   map[string]*worker   // the workers built for this plan (not reused)
	opened  map[string]*listener // listeners opened by swap, closed if it fails
}

// Apply reconfigures the running engine (reload). It builds and validates
// every channel of cfg first and opens the new listeners; on any error the
// old configuration keeps running, iisync_config_last_reload_successful is
// set to 0 and the error is returned (the caller logs "reload rejected").
// Then it swaps: MLLP listeners are keyed by address and reused (the handler
// behind them is swapped), channels removed stop taking messages and their
// workers stop after the current attempt (their queues stay in the store),
// workers whose destination did not change keep running, new ones start.
// A listener setting that cannot change live fails the reload with
// "reload not supported for channels[i].source.mllp.<key>". Before Start,
// Apply replaces the configuration Start will run.
func (e *Engine) Apply(ctx context.Context, cfg Config) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	e.mu.Lock()
	state, old := e.state, e.plan
	e.mu.Unlock()
	if state == stateClosed {
		return ErrClosed
	}
	var running map[string]*worker
	if state == stateRunning {
		running = *e.workers.Load()
	}
	p, err := e.build(cfg, running)
	if err == nil && state == stateRunning {
		if err = e.swap(ctx, p); err != nil {
			e.closeFresh(ctx, p)
		}
	}
	if err != nil {
		e.m.reloadOK.Set(0)
		return err
	}
	if state == stateNew {
		e.closeFresh(ctx, old)
		e.mu.Lock()
		e.plan, e.cfg = p, p.cfg
		e.mu.Unlock()
	}
	e.m.reloadOK.Set(1)
	e.log.Info().Int("channels", len(p.pipes)).Msg("reload applied")
	return nil
}

// build validates cfg and compiles its channels. A queue whose destination
// and retry settings equal those of its running worker reuses that worker;
// the others get a new worker with a new destination (not connected).
func (e *Engine) build(cfg Config, running map[string]*worker) (*plan, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := e.checkSources(cfg); err != nil {
		return nil, err
	}
	p := &plan{cfg: cfg, pipes: map[string]*pipeline{}, workers: map[string]*worker{},
		fresh: map[string]*worker{}, opened: map[string]*listener{}}
	var errs []error
	add := func(path, ch, dest string, spec workerSpec) {
		q := queueName(ch, dest)
		if w := running[q]; w != nil && reflect.DeepEqual(w.spec, spec) {
			p.workers[q] = w
			return
		}
		w, err := e.newWorker(ch, dest, spec)
		if err != nil {
			errs = append(errs, field.Prefix(path, err))
			return
		}
		p.workers[q], p.fresh[q] = w, w
	}
	for i, ch := range cfg.Channels {
		if !ch.IsEnabled() {
			continue
		}
		path := fmt.Sprintf("channels[%d]", i)
		pp, err := buildPipeline(ch)
		if err != nil {
			errs = append(errs, field.Prefix(path, err))
			continue
		}
		pp.index = i
		p.pipes[ch.Name], p.order = pp, append(p.order, ch.Name)
		for j, d := range ch.Destinations {
			add(fmt.Sprintf("%s.destinations[%d]", path, j), ch.Name, d.Name, workerSpec{Dest: &d, Retry: ch.RetryFor(d)})
		}
		if r := ch.Return; r != nil {
			retry := ch.Retry
			if r.Retry != nil {
				retry = *r.Retry
			}
			add(path+".return", ch.Name, returnName, workerSpec{Return: r, Retry: retry})
		}
	}
	if len(errs) > 0 {
		e.closeFresh(context.Background(), p)
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// listenKey names a channel's MLLP listener: its address, which two
// channels may not share, except that port 0 (any free port) is the
// channel's own.
func listenKey(channel, addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		return addr + "#" + channel
	}
	return addr
}

// checkSources rejects two enabled channels sharing a listener address,
// directory or HTTP path, and HTTP sources without Options.HTTPMux.
func (e *Engine) checkSources(cfg Config) error {
	var errs []error
	seen := map[string]int{}
	for i, ch := range cfg.Channels {
		if !ch.IsEnabled() {
			continue
		}
		var key, name string
		switch s := ch.Source; {
		case s.MLLP != nil:
			key, name = "mllp "+listenKey(ch.Name, s.MLLP.Addr), "source.mllp.addr"
		case s.Directory != nil:
			key, name = "dir "+s.Directory.Path, "source.directory.path"
		case s.HTTP != nil:
			key, name = "http "+s.HTTP.Path, "source.http.path"
			if e.opts.HTTPMux == nil {
				errs = append(errs, field.Errorf(fmt.Sprintf("channels[%d].source.http", i), "needs the API listener (no HTTP mux given)"))
			}
		}
		if j, dup := seen[key]; dup {
			errs = append(errs, field.Errorf(fmt.Sprintf("channels[%d].%s", i, name), "already used by channels[%d]", j))
		}
		seen[key] = i
	}
	return errors.Join(errs...)
}

// swap makes p the running configuration. Everything that can fail (a
// listener setting that cannot change live, opening a new listener,
// mounting an HTTP path) happens before the first change, so an error
// leaves the old configuration running.
func (e *Engine) swap(ctx context.Context, p *plan) error {
	e.mu.Lock()
	curLis := e.lis
	e.mu.Unlock()
	lis := map[string]*listener{}
	for _, name := range p.order {
		pp := p.pipes[name]
		src := pp.cfg.Source.MLLP
		if src == nil {
			continue
		}
		lk := listenKey(name, src.Addr)
		if l := curLis[lk]; l != nil {
			if key := liveChange(l.cfg, *src); key != "" {
				return fmt.Errorf("reload not supported for channels[%d].source.mllp.%s", pp.index, key)
			}
			lis[lk] = l
			continue
		}
		l, err := e.openListener(*src)
		if err != nil {
			return field.Prefix(fmt.Sprintf("channels[%d].source.mllp", pp.index), err)
		}
		lis[lk], p.opened[lk] = l, l
	}
	routes := map[string]*pipeline{}
	for _, name := range p.order {
		if h := p.pipes[name].cfg.Source.HTTP; h != nil {
			if err := e.mount(h.Path); err != nil {
				return fmt.Errorf("channels[%d].source.http.path: %w", p.pipes[name].index, err)
			}
			routes[h.Path] = p.pipes[name]
		}
	}

	// Commit point: from here on the new configuration runs.
	e.mu.Lock()
	oldDirs := e.dirs
	e.pipes, e.cfg = p.pipes, p.cfg
	e.mu.Unlock()
	for _, name := range p.order {
		if src := p.pipes[name].cfg.Source.MLLP; src != nil {
			lis[listenKey(name, src.Addr)].pipe.Store(p.pipes[name])
		}
	}
	e.routes.Store(&routes)

	var errs []error
	for addr, l := range curLis { // listeners no channel uses any more
		if lis[addr] == nil {
			errs = append(errs, l.shutdown(ctx))
		}
	}
	dirs := map[string]*dirSource{}
	var newDirs []*dirSource
	for _, name := range p.order {
		dc := p.pipes[name].cfg.Source.Directory
		if dc == nil {
			continue
		}
		if d := oldDirs[name]; d != nil && reflect.DeepEqual(d.cfg, *dc) {
			d.pipe.Store(p.pipes[name])
			dirs[name] = d
			continue
		}
		d := e.newDirSource(*dc, p.pipes[name])
		dirs[name] = d
		newDirs = append(newDirs, d)
	}
	for name, d := range oldDirs {
		if dirs[name] != d {
			errs = append(errs, d.halt(ctx))
		}
	}

	old := *e.workers.Load()
	stale := map[string]*worker{}
	for q, w := range old {
		if p.workers[q] != w {
			stale[q] = w
		}
	}
	errs = append(errs, stopWorkers(ctx, stale)) // before their replacements start: one worker per queue
	for q, w := range p.workers {
		ch, _, _ := cutQueue(q)
		w.pipe.Store(p.pipes[ch])
	}
	ws := p.workers
	e.workers.Store(&ws)
	for _, w := range p.fresh {
		w.start()
	}
	for _, l := range p.opened {
		l.start()
	}
	p.opened = nil
	for _, d := range newDirs {
		d.start()
	}
	e.mu.Lock()
	e.lis, e.dirs = lis, dirs
	e.mu.Unlock()
	return errors.Join(errs...)
}

// closeFresh releases what p built that never ran: its new destinations and
// the listeners opened for it.
func (e *Engine) closeFresh(ctx context.Context, p *plan) {
	if p == nil {
		return
	}
	for _, w := range p.fresh {
		if !w.running() {
			_ = w.d.Close(ctx)
		}
	}
	for _, l := range p.opened {
		_ = l.ln.Close()
	}
}

// liveChange names the first listener setting that differs between old and
// cur and that a running listener cannot take, or "".
func liveChange(old, cur mllp.Config) string {
	old, cur = old.WithDefaults(), cur.WithDefaults()
	switch {
	case !reflect.DeepEqual(old.TLS, cur.TLS):
		return "tls"
	case old.MaxFrameBytes != cur.MaxFrameBytes:
		return "max_frame_bytes"
	case old.MaxConns != cur.MaxConns:
		return "max_conns"
	case old.IdleTimeout != cur.IdleTimeout:
		return "idle_timeout"
	case old.FrameTimeout != cur.FrameTimeout:
		return "frame_timeout"
	case old.WriteTimeout != cur.WriteTimeout:
		return "write_timeout"
	}
	return ""
}
