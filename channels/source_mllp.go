package channels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/transforms/hl7"
)

// listener is an MLLP source: one mllp.Server on one address. The channel
// behind it is an atomic pointer, so a reload that keeps the address swaps
// the channel without closing the socket.
type listener struct {
	e      *Engine
	cfg    mllp.Config
	srv    *mllp.Server
	ln     net.Listener
	pipe   atomic.Pointer[pipeline]
	served chan error // Serve's result; nil until start
}

var _ mllp.Handler = (*listener)(nil)

// openListener checks the TLS files and binds cfg.Addr; the listener
// accepts connections only after start.
func (e *Engine) openListener(cfg mllp.Config) (*listener, error) {
	l := &listener{e: e, cfg: cfg}
	srv, err := mllp.New(cfg, l, e.log.With().Str("component", "mllp").Str("addr", cfg.Addr).Logger())
	if err != nil {
		return nil, err
	}
	if cfg.TLS != nil {
		if _, err := cfg.TLS.ServerTLS(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	l.srv, l.ln = srv, ln
	return l, nil
}

// start serves the listener in a goroutine that shutdown waits for.
func (l *listener) start() {
	l.served = make(chan error, 1)
	go func() {
		err := l.srv.Serve(l.ln)
		if !errors.Is(err, mllp.ErrServerClosed) {
			l.e.log.Error().Err(err).Str("addr", l.cfg.Addr).Msg("listener stopped")
		}
		l.served <- err
	}()
}

// shutdown closes the listener, lets frames in flight finish and ACK, and
// waits for Serve to return, bounded by ctx.
func (l *listener) shutdown(ctx context.Context) error {
	if l.served == nil {
		return l.ln.Close()
	}
	err := l.srv.Shutdown(ctx)
	select {
	case <-l.served:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("listener %s: %w", l.cfg.Addr, err)
	}
	return nil
}

// addr returns the bound address (the real port when configured as :0).
func (l *listener) addr() string { return l.ln.Addr().String() }

// ServeMLLP runs one frame through the receive path of the current channel.
func (l *listener) ServeMLLP(ctx context.Context, r *mllp.Request) []byte {
	p := l.pipe.Load()
	if p == nil { // the channel is being removed: the sender resends later
		return hl7.BuildNAK(r.Payload, errNotStored, "AR", hl7.ACKOptions{Now: l.e.now()})
	}
	if r.Truncated {
		l.e.m.parseErr.WithLabelValues(p.name()).Inc()
		l.e.log.Warn().Str("channel", p.name()).Int("bytes", r.FrameSize).Msg("frame too large")
		return hl7.BuildNAK(r.Payload, r.Err, "AR", p.ackOptions(l.e.now()))
	}
	// The payload is valid only during this call; the store keeps its own copy,
	// but clone anyway so no later change to the store can alias the buffer.
	return l.e.receive(ctx, p, bytes.Clone(r.Payload), "mllp").ack
}
