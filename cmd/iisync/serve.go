package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

const serveUsage = `usage: iisync serve [flags]

Runs the engine with its embedded defaults: an MLLP listener that commits
every message durably (fsync) to an inbox journal under the data directory
before it answers AA. A message that does not parse gets AE with an ERR
segment giving the position; an oversize frame gets AR; the connection
stays open in both cases. SIGINT or SIGTERM drains in-flight frames and stops.

`

// serveOptions are the flags of serve; tests set them directly.
type serveOptions struct {
	listen     string
	dataDir    string
	maxFrame   int
	tlsCert    string
	tlsKey     string
	tlsCA      string
	logLevel   string
	ready      func(addr net.Addr) // called once listening (tests)
	shutdownIn time.Duration
}

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet("serve", e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, serveUsage); fs.PrintDefaults() }
	var o serveOptions
	fs.StringVar(&o.listen, "listen", "127.0.0.1:2575", "MLLP listen `address`")
	fs.StringVar(&o.dataDir, "data", "./var", "data `directory` (created 0700)")
	fs.IntVar(&o.maxFrame, "max-frame-bytes", 1<<20, "largest MLLP frame accepted, in `bytes`")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate `file`: serve MLLP over TLS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM key `file` for --tls-cert")
	fs.StringVar(&o.tlsCA, "tls-client-ca", "", "PEM CA `file`: require client certificates signed by it (mTLS)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.DurationVar(&o.shutdownIn, "shutdown-grace", 10*time.Second, "how long to let in-flight frames finish on stop")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	return serve(ctx, e, o)
}

func serve(ctx context.Context, e *env, o serveOptions) int {
	level, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: --log-level: %v\n", err)
		return 2
	}
	log := newLogger(e.stderr, level)

	cfg := mllp.Config{Addr: o.listen, MaxFrameBytes: o.maxFrame}
	if o.tlsCert != "" || o.tlsKey != "" || o.tlsCA != "" {
		cfg.TLS = &mllp.TLSConfig{CertFile: o.tlsCert, KeyFile: o.tlsKey, CAFile: o.tlsCA, ClientAuth: o.tlsCA != ""}
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: invalid configuration:\n%v\n", err)
		return 2
	}
	inbox, err := openInbox(o.dataDir)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: %v\n", err)
		return 1
	}
	defer inbox.Close()

	h := &receiver{inbox: inbox, log: log}
	srv, err := mllp.New(cfg, h, log.With().Str("component", "mllp").Logger())
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "iisync serve: %v\n", err)
		return 1
	}
	log.Info().Str("addr", ln.Addr().String()).Bool("tls", cfg.TLS != nil).Str("inbox", inbox.path).Msg("started")
	if o.ready != nil {
		o.ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		log.Error().Err(err).Msg("listener stopped")
		return 1
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownIn)
	defer cancel()
	code := 0
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("shutdown incomplete")
		code = 1
	}
	if err := <-served; err != nil && !errors.Is(err, mllp.ErrServerClosed) {
		log.Error().Err(err).Msg("listener stopped")
		code = 1
	}
	log.Info().Int64("messages", h.count()).Msg("stopped")
	return code
}

// receiver is the MLLP handler of serve: parse, commit, then acknowledge.
type receiver struct {
	inbox *inbox
	log   zerolog.Logger

	mu       sync.Mutex
	received int64
}

func (h *receiver) count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.received
}

// ServeMLLP answers one frame. AA goes out only after the message is on disk.
func (h *receiver) ServeMLLP(_ context.Context, r *mllp.Request) []byte {
	opt := hl7.ACKOptions{Now: time.Now()}
	if r.Truncated {
		h.log.Warn().Int("bytes", r.FrameSize).Msg("frame too large")
		return hl7.BuildNAK(r.Payload, r.Err, "AR", opt)
	}
	m, err := hl7.Parse(r.Payload)
	if err != nil {
		h.log.Warn().Err(err).Int("bytes", len(r.Payload)).Msg("rejected unparseable message")
		return hl7.BuildNAK(r.Payload, err, "AE", opt)
	}
	if err := h.inbox.Append(m.Raw()); err != nil {
		h.log.Error().Err(err).Object("msg", m).Msg("commit failed")
		return hl7.BuildACK(m, "AR", []hl7.ErrorDetail{{
			Code: "207", CodeText: "Application internal error", Severity: 'E',
			UserMessage: "message not stored; send it again",
		}}, opt)
	}
	h.mu.Lock()
	h.received++
	h.mu.Unlock()
	h.log.Info().Object("msg", m).Msg("committed")
	return hl7.BuildACK(m, "AA", nil, opt)
}

// inbox is the engine's durable receiving journal until the channel engine's
// Badger store takes over: each message is appended as one MLLP frame and
// fsynced before the caller may acknowledge it. `iisync inspect` reads it.
//
// Appends share syncs (group commit): a writer whose frame a sync already
// covered returns without one, so concurrent connections do not queue behind
// each other's fsync.
type inbox struct {
	path string

	mu       sync.Mutex // guards the fields below
	f        *os.File
	written  uint64 // frames written
	synced   uint64 // frames known to be on stable storage
	syncing  bool   // a writer is in fsync now
	syncDone *sync.Cond
	syncErr  error // the last sync's error, for the writers it covered
}

func openInbox(dir string) (*inbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	p := filepath.Join(dir, "inbox.mllp")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	b := &inbox{path: p, f: f}
	b.syncDone = sync.NewCond(&b.mu)
	return b, nil
}

// Append writes one message and returns once it is on stable storage.
func (b *inbox) Append(raw []byte) error {
	frame := mllp.Encode(raw)
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.f.Write(frame); err != nil {
		return fmt.Errorf("inbox write: %w", err)
	}
	b.written++
	mine := b.written
	for b.synced < mine {
		if b.syncing { // someone else's fsync may cover this frame
			b.syncDone.Wait()
			continue
		}
		b.syncing = true
		upTo := b.written
		b.mu.Unlock()
		err := b.f.Sync()
		b.mu.Lock()
		b.syncing = false
		b.syncErr = err
		if err == nil {
			b.synced = upTo
		}
		b.syncDone.Broadcast()
		if err != nil {
			return fmt.Errorf("inbox sync: %w", err)
		}
	}
	return nil
}

func (b *inbox) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.f.Close()
}

// newLogger writes JSON lines, or a human-readable console format when w is a
// terminal (make run in a shell).
func newLogger(w io.Writer, level zerolog.Level) zerolog.Logger {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			w = zerolog.ConsoleWriter{Out: f, TimeFormat: time.TimeOnly}
		}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
