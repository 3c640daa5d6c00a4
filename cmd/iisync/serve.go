package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/registry"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf"
	"github.com/iisync/iisync/console"
)

const serveUsage = `usage: iisync serve [-c FILE]

Runs the engine from a configuration file (without -c: the embedded demo
configuration, with its paths relative to the working directory). Every
channel receives from its source, commits each message durably (fsync) to
the store before it answers AA, and delivers it to its destinations from
durable queues. The HTTP API, /metrics and the probes listen on api.addr.

SIGHUP reloads the configuration (a rejected reload is logged and the
running configuration stays); SIGINT or SIGTERM drains: listeners close,
in-flight messages finish and are acknowledged, queue workers stop after
their current attempt, the store closes, all within shutdown_grace.

`

// serveOptions are the flags of serve; tests set them directly.
type serveOptions struct {
	configFile string
	// reload, when non-nil, triggers a reload per receive (runServe passes
	// SIGHUP).
	reload <-chan os.Signal
	// ready is called once everything listens (tests).
	ready func(r *running)
}

// running is a started engine as serve sees it; tests get it through ready.
type running struct {
	APIAddr string // the console's bound address
	Engine  *channels.Engine
	Store   *store.Store
	// Reload does what SIGHUP does and returns why a reload was rejected.
	Reload func(ctx context.Context) error
}

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("serve", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, serveUsage); fs.PrintDefaults() }
	var o serveOptions
	fs.StringVar(&o.configFile, "c", "", "configuration `file` (default: the embedded demo configuration)")
	fs.StringVar(&o.configFile, "config", "", "same as -c")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	o.reload = hup
	return serve(ctx, e, o)
}

// loadConfig reads the configuration file, or the embedded demo when name is "".
func loadConfig(name string) (*conf.File, error) {
	if name != "" {
		return conf.Load(name)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	return conf.Parse(conf.Demo(), "demo", wd)
}

func serve(ctx context.Context, e *env, o serveOptions) int {
	f, err := loadConfig(o.configFile)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: %v\n", err)
		return 2
	}
	defer zerolog.SetGlobalLevel(zerolog.GlobalLevel()) // newLogger moves it; tests run commands in-process
	log, level, err := newLogger(e.stderr, f.Log.Level, f.Log.Format)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: %v\n", err)
		return 2
	}
	setMemoryLimit()
	configName := o.configFile
	if configName == "" {
		configName = "(embedded demo)"
	}
	log.Info().Str("config", configName).Int("channels", len(f.Engine().Channels)).Str("version", version).Msg("starting")

	if f.CodesDir != "" {
		if err := installCodes(f.CodesDir, log); err != nil {
			log.Error().Err(err).Str("dir", f.CodesDir).Msg("code tables")
			return 1
		}
	}
	if f.Sandbox != nil {
		// Before the engine: its iis destinations read the sandbox's
		// certificate (created on first start) when they are built.
		sb, err := startSandbox(*f.Sandbox, log)
		if err != nil {
			log.Error().Err(err).Msg("start sandbox")
			return 1
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = sb.Shutdown(sctx)
		}()
	}
	key, created, err := patientKey(f)
	if err != nil {
		log.Error().Err(err).Msg("patient key")
		return 1
	}
	if created {
		log.Info().Str("key_file", f.Security.PatientRefKeyFile).Msg("created patient_ref key")
	}
	st, err := store.Open(f.Storage, log) // the store and the engine name their own components
	if err != nil {
		log.Error().Err(err).Msg("open store")
		return 1
	}
	code := 0
	defer func() {
		if err := st.Close(); err != nil {
			log.Error().Err(err).Msg("close store")
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rr := &reloadRegisterer{Registerer: reg}
	mux := http.NewServeMux()
	eng, err := channels.New(f.Engine(), st, log,
		channels.Options{PatientKey: key, Registerer: rr, HTTPMux: mux})
	if err != nil {
		log.Error().Err(err).Msg("build engine")
		return 2
	}
	// The Sync Registry names itself (component=registry) in its logger.
	syncReg := registry.New(eng, log)
	con, err := console.New(console.Config{Addr: f.API.Addr, Token: f.API.Token}, eng, reg, mux,
		log.With().Str("component", "console").Logger())
	if err != nil {
		log.Error().Err(err).Msg("build console")
		return 2
	}
	apiAddr := f.API.Addr
	if apiAddr == "" {
		apiAddr = console.DefaultAddr
	}
	ln, err := net.Listen("tcp", apiAddr)
	if err != nil {
		log.Error().Err(err).Str("addr", apiAddr).Msg("api listen")
		return 1
	}
	if err := eng.Start(ctx); err != nil {
		ln.Close()
		log.Error().Err(err).Msg("start engine")
		return 1
	}
	if err := syncReg.Start(); err != nil {
		ln.Close()
		log.Error().Err(err).Msg("start sync registry")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := eng.Shutdown(sctx); err != nil {
			log.Error().Err(err).Msg("shutdown incomplete")
		}
		return 1
	}
	con.SetRegistry(syncReg)
	served := make(chan error, 1)
	go func() { served <- con.Serve(ln) }()

	var cur atomic.Pointer[conf.File] // the running configuration
	cur.Store(f)
	st.StartPruner(func(channel string) store.Retention {
		for _, ch := range cur.Load().Channels {
			if ch.Name == channel {
				return ch.Retention
			}
		}
		return store.Retention{} // the storage.retention defaults
	})
	var reloading sync.Mutex // serializes reloads
	reload := func(ctx context.Context) error {
		reloading.Lock()
		defer reloading.Unlock()
		nf, err := applyReload(ctx, o.configFile, cur.Load(), eng, rr)
		if err != nil {
			log.Error().Err(err).Msg("reload rejected")
			return err
		}
		// What reloads besides the channels: api.token, log.level and
		// shutdown_grace (conf.File.ReloadableFrom refuses the rest).
		con.SetToken(nf.API.Token)
		if err := level.set(nf.Log.Level); err != nil { // validated by conf; kept if not
			log.Warn().Err(err).Msg("log level unchanged")
		}
		cur.Store(nf)
		return nil
	}
	log.Info().Str("api", ln.Addr().String()).Msg("ready")
	if o.ready != nil {
		o.ready(&running{APIAddr: ln.Addr().String(), Engine: eng, Store: st, Reload: reload})
	}

loop:
	for {
		select {
		case err := <-served:
			log.Error().Err(err).Msg("api listener stopped")
			served <- err
			code = 1
			break loop
		case <-o.reload:
			log.Info().Str("config", configName).Msg("reloading")
			_ = reload(ctx)
		case <-ctx.Done():
			break loop
		}
	}

	grace := cur.Load().ShutdownGrace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	log.Info().Dur("grace", grace).Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	// The Sync Registry's follower stops first: it reads the store the
	// engine writes. Then the API (and the HTTP sources on it) and the
	// engine's listeners drain together; the store closes (deferred) only
	// after both.
	regErr := syncReg.Shutdown(sctx)
	var wg sync.WaitGroup
	var conErr, engErr error
	wg.Go(func() { conErr = con.Shutdown(sctx) })
	wg.Go(func() { engErr = eng.Shutdown(sctx) })
	wg.Wait()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error().Err(err).Msg("api listener stopped")
		code = 1
	}
	if err := errors.Join(regErr, conErr, engErr); err != nil {
		log.Error().Err(err).Msg("shutdown incomplete")
		code = 1
	}
	if code == 0 {
		log.Info().Msg("stopped")
	}
	return code
}

// applyReload is SIGHUP: load the file again, refuse changes that cannot be
// applied live, and let the engine build and swap. On error the running
// configuration stays.
func applyReload(ctx context.Context, name string, cur *conf.File, eng *channels.Engine, rr *reloadRegisterer) (*conf.File, error) {
	nf, err := loadConfig(name)
	if err == nil {
		err = nf.ReloadableFrom(*cur)
	}
	if err != nil {
		// Apply sets the gauge itself; these failures happen before it.
		if rf, ok := any(eng).(interface{ ReloadFailed() }); ok {
			rf.ReloadFailed()
		} else {
			rr.failed()
		}
		return nil, err
	}
	if err := eng.Apply(ctx, nf.Engine()); err != nil {
		return nil, err
	}
	return nf, nil
}

// reloadMetric is the engine's gauge of the last reload's outcome.
const reloadMetric = "iisync_config_last_reload_successful"

// reloadRegisterer passes registrations through and keeps the engine's
// reload gauge, so that a reload rejected before Engine.Apply (a file that
// does not load, a change that needs a restart) sets it to 0 as well.
type reloadRegisterer struct {
	prometheus.Registerer
	mu    sync.Mutex
	gauge prometheus.Gauge
}

func (r *reloadRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	if g, ok := c.(prometheus.Gauge); ok && describes(g, reloadMetric) {
		r.mu.Lock()
		r.gauge = g
		r.mu.Unlock()
	}
	return nil
}

func (r *reloadRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// failed records a rejected reload.
func (r *reloadRegisterer) failed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gauge != nil {
		r.gauge.Set(0)
	}
}

// describes reports whether c's only metric is named name.
func describes(c prometheus.Collector, name string) bool {
	ch := make(chan *prometheus.Desc, 4)
	go func() { c.Describe(ch); close(ch) }()
	found := false
	for d := range ch {
		found = found || strings.Contains(d.String(), `fqName: "`+name+`"`)
	}
	return found
}

// newLogger builds the process's one logger. format is "json", "console", or
// "" (console on a terminal, JSON otherwise). The level lives in the
// returned levelWriter so that a reload can change it.
func newLogger(w io.Writer, level, format string) (zerolog.Logger, *levelWriter, error) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !tty}
	case "", "auto":
		if tty {
			w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		}
	default:
		return zerolog.Logger{}, nil, fmt.Errorf("log.format: must be json or console, got %q", format)
	}
	lw := &levelWriter{w: w}
	if err := lw.set(level); err != nil {
		return zerolog.Logger{}, nil, err
	}
	return zerolog.New(lw).With().Timestamp().Logger(), lw, nil
}

// levelWriter drops events below a level that can change while the process
// runs (log.level reloads on SIGHUP). The loggers themselves pass every
// level; set also moves zerolog's global level, which every logger checks
// before it builds an event, so an event below the level costs nothing (at
// thousands of messages a second the per-message info events are a few
// percent of the CPU when the level is warn). The process has one logger,
// so the global is its own.
type levelWriter struct {
	w   io.Writer
	min atomic.Int32 // a zerolog.Level
}

func (l *levelWriter) set(level string) error {
	lvl := zerolog.InfoLevel
	if level != "" {
		p, err := zerolog.ParseLevel(level)
		if err != nil {
			return fmt.Errorf("log.level: %w", err)
		}
		lvl = p
	}
	l.min.Store(int32(lvl))
	zerolog.SetGlobalLevel(lvl)
	return nil
}

func (l *levelWriter) Write(p []byte) (int, error) { return l.w.Write(p) }

// WriteLevel implements zerolog.LevelWriter.
func (l *levelWriter) WriteLevel(lvl zerolog.Level, p []byte) (int, error) {
	if lvl < zerolog.Level(l.min.Load()) && lvl != zerolog.NoLevel {
		return len(p), nil
	}
	return l.w.Write(p)
}

// defaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not set.
// Badger's compactions come in bursts of short-lived buffers; without a
// limit the heap grows to twice its live size between collections, which
// pushes the resident set past what a clinic's small VM should give an
// interface engine. Near the limit the collector simply runs more often.
const defaultMemoryLimit = 256 << 20

// setMemoryLimit applies defaultMemoryLimit unless the operator chose one
// with GOMEMLIMIT.
func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
