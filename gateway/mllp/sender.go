package mllp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Sender sends frames to one peer over one persistent connection and waits
// for each reply. It dials lazily on the first Send and again whenever the
// connection broke or was closed because it was out of step.
//
// Sender is safe for concurrent use. Sends are serialized, one message in
// flight at a time, so replies cannot be matched to the wrong message; a
// caller that wants parallelism uses several Senders. A Send waiting for its
// turn gives up when its ctx ends (the lock is a one-slot channel rather
// than a sync.Mutex for that reason).
type Sender struct {
	cfg    SenderConfig
	log    zerolog.Logger
	closed atomic.Bool
	sem    chan struct{} // one slot: held for the whole of a Send

	// Owned by the holder of sem.
	tlsConf *tls.Config
	sc      *Scanner // reads replies from conn
	wbuf    []byte
	lastErr string // last connect error logged, to log only changes

	mu   sync.Mutex // guards conn; taken after sem
	conn net.Conn
}

// NewSender returns a Sender for cfg (defaults applied, then validated).
// It does no I/O: TLS files are read and the peer dialed by the first Send.
func NewSender(cfg SenderConfig, log zerolog.Logger) (*Sender, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sender{cfg: cfg, log: log, sem: make(chan struct{}, 1)}, nil
}

// Send writes payload as one frame and returns a copy of the reply's
// payload. verify, if not nil, checks the reply (iisync passes a check that
// MSA-2 equals the MSH-10 sent); if it fails, Send closes the connection,
// which is out of step, and returns an error wrapping both ErrReplyRejected
// and verify's error.
//
// Before reusing the connection Send checks, without blocking, that the
// peer has not closed it while idle nor sent anything unasked (a stale
// reply); if it has, Send redials first. If writing still fails on a reused
// connection, Send reconnects and sends once more. Any other failure is
// returned without a resend, because the peer may have taken the message:
// if no reply arrives within ACKTimeout, Send closes the connection and
// returns ErrACKTimeout; if the peer closes the connection first, the error
// wraps ErrNoReply. The caller decides whether to send again (delivery is
// at-least-once above this package). ctx bounds the whole call, waiting for
// the turn and connecting included.
func (s *Sender) Send(ctx context.Context, payload []byte, verify func(reply []byte) error) ([]byte, error) {
	if bytes.IndexByte(payload, StartBlock) >= 0 || bytes.IndexByte(payload, EndBlock) >= 0 {
		return nil, ErrInvalidPayload
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("mllp: send: %w", context.Cause(ctx))
	}
	defer func() { <-s.sem }()

	start := time.Now()
	for resent := false; ; resent = true {
		if s.closed.Load() {
			return nil, ErrClosed
		}
		nc, reused, err := s.connect(ctx)
		if err != nil {
			return nil, err
		}
		reply, stale, err := s.exchange(ctx, nc, payload)
		if errors.Is(err, ErrFrameTooLarge) {
			return nil, err // drained to its end: the connection is in step
		}
		if err != nil {
			s.drop(nc, "send_failed")
			if stale && reused && !resent {
				s.log.Debug().Msg("connection went stale, resending")
				continue
			}
			return nil, err
		}
		if verify != nil {
			if verr := verify(reply); verr != nil {
				s.drop(nc, "reply_rejected")
				return nil, fmt.Errorf("%w: %w", ErrReplyRejected, verr)
			}
		}
		s.log.Debug().Int("bytes", len(payload)).Int("reply_bytes", len(reply)).
			Dur("duration", time.Since(start)).Msg("sent")
		return bytes.Clone(reply), nil
	}
}

// exchange writes one frame on nc and reads one reply. stale reports that
// the write failed, so the peer cannot have read the message whole and a
// resend on a new connection is safe to try.
func (s *Sender) exchange(ctx context.Context, nc net.Conn, payload []byte) (reply []byte, stale bool, err error) {
	deadline := time.Now().Add(s.cfg.ACKTimeout)
	ctxBound := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxBound = d, true
	}
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer func() {
		if !stop() {
			// ctx ended while we finished; its deadline may still land on
			// nc, so don't reuse the connection.
			s.drop(nc, "canceled")
		}
	}()

	s.wbuf = AppendFrame(s.wbuf[:0], payload)
	if _, werr := nc.Write(s.wbuf); werr != nil {
		return nil, true, s.failure(ctx, ctxBound, werr, "write")
	}
	if !s.sc.Scan() {
		rerr := s.sc.Err()
		if rerr == nil {
			rerr = io.EOF
		}
		return nil, false, s.failure(ctx, ctxBound, rerr, "read")
	}
	if s.sc.Truncated() {
		return nil, false, fmt.Errorf("mllp: reply: %w", ErrFrameTooLarge)
	}
	return s.sc.Bytes(), false, nil
}

// failure turns an I/O error of an exchange into Send's error. ctxBound
// reports that the connection deadline was ctx's deadline.
func (s *Sender) failure(ctx context.Context, ctxBound bool, err error, op string) error {
	timeout := errors.Is(err, os.ErrDeadlineExceeded)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("mllp: send: %w", context.Cause(ctx))
	case s.closed.Load():
		return ErrClosed
	case timeout && ctxBound:
		// The socket deadline can fire just before ctx's own timer.
		return fmt.Errorf("mllp: send: %w", context.DeadlineExceeded)
	case timeout:
		return ErrACKTimeout
	case op == "read":
		return fmt.Errorf("%w: %w", ErrNoReply, err)
	default:
		return fmt.Errorf("mllp: write: %w", err)
	}
}

// connect returns the open connection (reused=true) or dials a new one,
// trying up to MaxAttempts times with exponential backoff and jitter.
func (s *Sender) connect(ctx context.Context) (nc net.Conn, reused bool, err error) {
	s.mu.Lock()
	nc = s.conn
	s.mu.Unlock()
	if nc != nil {
		switch {
		case s.sc.pendingStart():
			s.drop(nc, "unsolicited_data") // a stale reply is waiting: out of step
		case peerGone(nc):
			s.drop(nc, "peer_closed")
		default:
			return nc, true, nil
		}
	}
	if s.cfg.TLS != nil && s.tlsConf == nil {
		if s.tlsConf, err = s.cfg.TLS.ClientTLS(); err != nil {
			return nil, false, err
		}
	}
	delay := s.cfg.Backoff
	for attempt := 1; attempt <= s.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, jitter(delay)); err != nil {
				return nil, false, fmt.Errorf("mllp: connect: %w", err)
			}
			delay = min(2*delay, s.cfg.MaxBackoff)
		}
		nc, err = s.dial(ctx)
		if err == nil {
			return s.install(nc, attempt)
		}
		if ctx.Err() != nil {
			return nil, false, fmt.Errorf("mllp: connect: %w", context.Cause(ctx))
		}
		if msg := err.Error(); msg != s.lastErr {
			s.lastErr = msg
			s.log.Warn().Err(err).Str("addr", s.cfg.Addr).Int("attempt", attempt).Msg("connect failed")
		}
	}
	return nil, false, fmt.Errorf("mllp: connect after %d attempts: %w", s.cfg.MaxAttempts, err)
}

// dial makes one connect attempt, TLS handshake included.
func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	d := &net.Dialer{}
	if s.tlsConf != nil {
		return (&tls.Dialer{NetDialer: d, Config: s.tlsConf}).DialContext(ctx, "tcp", s.cfg.Addr)
	}
	return d.DialContext(ctx, "tcp", s.cfg.Addr)
}

// install makes nc the current connection unless the Sender was closed.
func (s *Sender) install(nc net.Conn, attempt int) (net.Conn, bool, error) {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		_ = nc.Close()
		return nil, false, ErrClosed
	}
	s.conn = nc
	s.mu.Unlock()
	s.sc = NewScanner(nc, s.cfg.MaxFrameBytes)
	s.lastErr = ""
	s.log.Info().Str("addr", s.cfg.Addr).Bool("tls", s.tlsConf != nil).Int("attempt", attempt).Msg("connected")
	return nc, false, nil
}

// drop closes nc and forgets it if it is still the current connection;
// dropping it again is harmless.
func (s *Sender) drop(nc net.Conn, reason string) {
	s.mu.Lock()
	current := s.conn == nc
	if current {
		s.conn = nil
	}
	s.mu.Unlock()
	_ = nc.Close()
	if current {
		s.log.Info().Str("addr", s.cfg.Addr).Str("reason", reason).Msg("connection closed")
	}
}

// Close closes the connection, interrupting a Send in flight, and makes
// later Sends fail with ErrClosed. It is safe to call more than once.
func (s *Sender) Close() error {
	s.closed.Store(true)
	s.mu.Lock()
	nc := s.conn
	s.conn = nil
	s.mu.Unlock()
	if nc == nil {
		return nil
	}
	if err := nc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mllp: close: %w", err)
	}
	return nil
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
