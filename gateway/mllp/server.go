package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Accept-loop backoff bounds (STYLE §5).
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// Request is one received frame, handed to a Handler. It and its Payload
// are valid only during the ServeMLLP call.
type Request struct {
	// Payload is the frame payload; for a truncated frame, its first bytes
	// (up to TruncatedKeep) so the handler can still find MSH-10.
	Payload []byte
	// Truncated reports that the frame exceeded MaxFrameBytes; Err is then
	// ErrFrameTooLarge.
	Truncated bool
	// Err is nil for a whole frame.
	Err error
	// FrameSize is the payload size on the wire, even if truncated.
	FrameSize int
	// RemoteAddr is the peer's address.
	RemoteAddr net.Addr
	// TLS is the connection's TLS state, nil on plain TCP.
	TLS *tls.ConnectionState
}

// A Handler answers one frame. The Server calls it concurrently for
// different connections and in order, one at a time, within one connection.
// The returned payload (unframed) is written back as one frame after the
// call returns, so a handler may commit the message durably before its
// positive ACK goes out; nil means no reply. ctx is canceled only at a hard
// shutdown (Shutdown's ctx expired); a graceful shutdown lets the call finish
// and writes its reply.
type Handler interface {
	ServeMLLP(ctx context.Context, r *Request) []byte
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(ctx context.Context, r *Request) []byte

// ServeMLLP calls f(ctx, r).
func (f HandlerFunc) ServeMLLP(ctx context.Context, r *Request) []byte { return f(ctx, r) }

// Server is an MLLP listener. Create it with New, run it with Serve or
// ListenAndServe, stop it with Shutdown.
type Server struct {
	cfg     Config
	h       Handler
	log     zerolog.Logger
	closing atomic.Bool
	done    chan struct{} // closed by Shutdown; wakes the accept backoff
	once    sync.Once
	conns   sync.WaitGroup // one per connection goroutine

	mu     sync.Mutex // guards the fields below; taken before conn.mu
	ln     net.Listener
	active map[*conn]struct{}
}

// conn is one served connection.
type conn struct {
	nc     net.Conn
	cancel context.CancelFunc // cancels the handler ctx at hard shutdown

	mu   sync.Mutex // guards busy; taken after Server.mu
	busy bool       // a frame has started and its reply is not written yet
}

// New returns a Server for cfg (defaults applied, then validated) that
// passes frames to h. It does no I/O; TLS files are read by Serve.
func New(cfg Config, h Handler, log zerolog.Logger) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("mllp: nil handler")
	}
	return &Server{
		cfg:    cfg,
		h:      h,
		log:    log,
		done:   make(chan struct{}),
		active: make(map[*conn]struct{}),
	}, nil
}

// ListenAndServe listens on cfg.Addr and calls Serve.
func (s *Server) ListenAndServe() error {
	if s.closing.Load() {
		return ErrServerClosed
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mllp: listen: %w", err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln (wrapping it in TLS if configured) and
// serves each in its own goroutine until Shutdown. It always returns a
// non-nil error and closes ln; after Shutdown the error is ErrServerClosed.
// Connections still open when Serve returns for another reason keep being
// served until Shutdown. A Server serves one listener.
func (s *Server) Serve(ln net.Listener) error {
	defer ln.Close()
	if s.cfg.TLS != nil {
		tc, err := s.cfg.TLS.ServerTLS()
		if err != nil {
			return err
		}
		ln = tls.NewListener(ln, tc)
	}
	s.mu.Lock()
	switch {
	case s.closing.Load():
		s.mu.Unlock()
		return ErrServerClosed
	case s.ln != nil:
		s.mu.Unlock()
		return errors.New("mllp: server already serving")
	}
	s.ln = ln
	s.mu.Unlock()
	s.log.Info().Str("addr", ln.Addr().String()).Bool("tls", s.cfg.TLS != nil).Msg("listening")

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("mllp: accept: %w", err)
			}
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			s.log.Warn().Err(err).Dur("backoff", delay).Msg("accept failed")
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.track(nc)
	}
}

// track registers nc and starts its goroutine, or closes it at once when
// the server is closing or at MaxConns.
func (s *Server) track(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		_ = nc.Close()
		return
	}
	if len(s.active) >= s.cfg.MaxConns {
		_ = nc.Close()
		s.log.Warn().Str("remote", nc.RemoteAddr().String()).Int("max_conns", s.cfg.MaxConns).
			Msg("connection rejected")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{nc: nc, cancel: cancel}
	s.active[c] = struct{}{}
	s.conns.Go(func() { s.serveConn(ctx, c) })
}

// Addr returns the listening address, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops the server gracefully: it closes the listener, closes idle
// connections, and waits for frames in flight (started or being handled)
// to be handled and their replies written. Frames still buffered behind
// them on a pipelined connection are not read; their senders resend. If
// ctx ends first, Shutdown cancels the handlers' ctx, closes every
// connection and returns ctx's cause wrapped.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	s.once.Do(func() { close(s.done) })
	var err error
	if s.ln != nil {
		if e := s.ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) {
			err = fmt.Errorf("mllp: close listener: %w", e)
		}
	}
	for c := range s.active {
		c.wake()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.active {
			c.cancel()
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		return fmt.Errorf("mllp: shutdown: %w", context.Cause(ctx))
	}
}

// wake ends the wait of an idle connection; a busy one is left to finish.
func (c *conn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.busy {
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

// idle marks c as between frames and arms the idle deadline. It returns
// false if the server is closing.
func (s *Server) idle(c *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.busy = false
	if s.closing.Load() {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
	return true
}

// serveConn reads frames from c, in order, until the peer leaves, a
// deadline passes, or the server shuts down.
func (s *Server) serveConn(ctx context.Context, c *conn) {
	opened := time.Now()
	remote := c.nc.RemoteAddr()
	log := s.log.With().Str("remote", remote.String()).Logger()
	var (
		frames int
		reason string
		rerr   error
		sc     *Scanner
	)
	defer func() {
		c.cancel()
		_ = c.nc.Close()
		s.mu.Lock()
		delete(s.active, c)
		n := len(s.active)
		s.mu.Unlock()
		ev := log.Info().Str("reason", reason).Int("frames", frames).Int("conns", n).
			Dur("duration", time.Since(opened))
		if sc != nil {
			ev = ev.Int("discarded", sc.Discarded()).Int64("skipped_bytes", sc.Skipped())
		}
		ev.AnErr("error", rerr).Msg("connection closed")
	}()
	log.Info().Bool("tls", s.cfg.TLS != nil).Msg("connection opened")

	req := &Request{RemoteAddr: remote}
	if tc, ok := c.nc.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(s.cfg.FrameTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			reason, rerr = "tls_handshake", err
			return
		}
		_ = tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		req.TLS = &st
	}

	var started time.Time
	sc = NewScanner(c.nc, s.cfg.MaxFrameBytes)
	sc.onStart = func() {
		c.mu.Lock()
		c.busy = true
		started = time.Now()
		_ = c.nc.SetReadDeadline(started.Add(s.cfg.FrameTimeout))
		c.mu.Unlock()
	}
	var wbuf []byte
	for {
		if !s.idle(c) {
			reason = "shutdown"
			return
		}
		if !sc.Scan() {
			reason, rerr = s.closeReason(sc)
			return
		}
		req.Payload, req.Truncated, req.FrameSize, req.Err = sc.Bytes(), sc.Truncated(), sc.FrameSize(), nil
		if req.Truncated {
			req.Err = ErrFrameTooLarge
			log.Warn().Int("bytes", req.FrameSize).Int("max_frame_bytes", s.cfg.MaxFrameBytes).Msg("frame too large")
		}
		reply, ok := s.call(ctx, req, log)
		req.Payload = nil
		if !ok {
			reason = "handler_panic"
			return
		}
		if reply != nil {
			wbuf = AppendFrame(wbuf[:0], reply)
			_ = c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if _, err := c.nc.Write(wbuf); err != nil {
				reason, rerr = "write_error", err
				return
			}
		}
		frames++
		log.Debug().Int("bytes", req.FrameSize).Bool("truncated", req.Truncated).
			Int("reply_bytes", len(reply)).Dur("duration", time.Since(started)).Msg("frame")
	}
}

// call runs the handler, turning a panic into a closed connection. The
// panic value is not logged: it may hold payload bytes.
func (s *Server) call(ctx context.Context, req *Request, log zerolog.Logger) (reply []byte, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			log.Error().Msg("handler panicked")
			ok = false
		}
	}()
	return s.h.ServeMLLP(ctx, req), true
}

// closeReason names why Scan stopped, for the connection-closed log line.
func (s *Server) closeReason(sc *Scanner) (string, error) {
	err := sc.Err()
	switch {
	case err == nil:
		return "eof", nil
	case errors.Is(err, ErrIncompleteFrame):
		return "incomplete_frame", nil
	case s.closing.Load() && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed)):
		return "shutdown", nil
	case errors.Is(err, os.ErrDeadlineExceeded) && sc.inOpenFrame():
		return "frame_timeout", nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "idle_timeout", nil
	default:
		return "read_error", err
	}
}
