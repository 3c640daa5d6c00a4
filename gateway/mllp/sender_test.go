package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// connCounter is a handler that answers AA (or nothing for NOACK, or an
// oversize reply for BIGREPLY) and counts the connections it saw.
type connCounter struct {
	mu    sync.Mutex
	conns map[string]int // remote -> frames
}

func (c *connCounter) ServeMLLP(ctx context.Context, r *Request) []byte {
	c.mu.Lock()
	if c.conns == nil {
		c.conns = map[string]int{}
	}
	c.conns[r.RemoteAddr.String()]++
	c.mu.Unlock()
	switch controlID(r.Payload) {
	case "NOACK":
		return nil
	case "BIGREPLY":
		return bytes.Repeat([]byte("x"), 2048)
	}
	return ack("AA", r.Payload)
}

func (c *connCounter) counts() (conns, frames int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.conns {
		frames += n
	}
	return len(c.conns), frames
}

func newSender(t testing.TB, cfg SenderConfig) *Sender {
	t.Helper()
	s, err := NewSender(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSenderReusesConnection(t *testing.T) {
	h := &connCounter{}
	r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
	s := newSender(t, testSender(r.addr))
	for i := range 5 {
		id := fmt.Sprint("REUSE", i)
		reply, err := s.Send(t.Context(), msg(id), verifyID(id))
		if err != nil || ackControl(reply) != id {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if conns, frames := h.counts(); conns != 1 || frames != 5 {
		t.Fatalf("server saw %d conns, %d frames; want 1, 5", conns, frames)
	}
}

func TestSenderReconnectAfterServerRestart(t *testing.T) {
	h1 := &connCounter{}
	r1 := startServer(t, testConfig(), h1, zerolog.Nop(), nil)
	s := newSender(t, testSender(r1.addr))
	if _, err := s.Send(t.Context(), msg("BEFORE"), verifyID("BEFORE")); err != nil {
		t.Fatal(err)
	}
	r1.stop(t)
	ln, err := net.Listen("tcp", r1.addr) // same port
	if err != nil {
		t.Fatal(err)
	}
	h2 := &connCounter{}
	startServer(t, testConfig(), h2, zerolog.Nop(), ln)
	if _, err := s.Send(t.Context(), msg("AFTER"), verifyID("AFTER")); err != nil {
		t.Fatalf("Send after restart: %v", err)
	}
	if conns, frames := h2.counts(); conns != 1 || frames != 1 {
		t.Fatalf("new server saw %d conns, %d frames; want 1, 1", conns, frames)
	}
}

func TestSenderWaitsForServer(t *testing.T) {
	ln := newLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	cfg := testSender(addr)
	cfg.MaxAttempts = 50
	s := newSender(t, cfg)
	go func() {
		time.Sleep(100 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		startServer(t, testConfig(), ackHandler, zerolog.Nop(), ln)
	}()
	if _, err := s.Send(t.Context(), msg("LATE"), verifyID("LATE")); err != nil {
		t.Fatalf("Send while server comes up: %v", err)
	}
}

func TestSenderErrors(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		verify    func([]byte) error
		ctxTO     time.Duration
		want      []error
		newConn   bool // the connection was closed, the next Send dials
		maxWithin time.Duration
	}{
		{name: "ack timeout", id: "NOACK", want: []error{ErrACKTimeout}, newConn: true, maxWithin: time.Second},
		{name: "verify failure", id: "V1", verify: func([]byte) error { return errMismatch },
			want: []error{ErrReplyRejected, errMismatch}, newConn: true, maxWithin: time.Second},
		{name: "ctx deadline before ack timeout", id: "NOACK", ctxTO: 50 * time.Millisecond,
			want: []error{context.DeadlineExceeded}, newConn: true, maxWithin: time.Second},
		{name: "reply too large", id: "BIGREPLY", want: []error{ErrFrameTooLarge}, maxWithin: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &connCounter{}
			r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
			cfg := testSender(r.addr)
			cfg.ACKTimeout = 150 * time.Millisecond
			cfg.MaxFrameBytes = 1024
			s := newSender(t, cfg)
			if _, err := s.Send(t.Context(), msg("WARM"), nil); err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if tc.ctxTO > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTO)
				defer cancel()
			}
			start := time.Now()
			reply, err := s.Send(ctx, msg(tc.id), tc.verify)
			if err == nil || reply != nil {
				t.Fatalf("Send succeeded: %d reply bytes", len(reply))
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Fatalf("err = %v, want %v", err, w)
				}
			}
			if d := time.Since(start); d > tc.maxWithin {
				t.Fatalf("Send took %v", d)
			}
			if _, err := s.Send(t.Context(), msg("NEXT"), verifyID("NEXT")); err != nil {
				t.Fatalf("Send after failure: %v", err)
			}
			want := 1
			if tc.newConn {
				want = 2
			}
			if conns, _ := h.counts(); conns != want {
				t.Fatalf("server saw %d conns, want %d", conns, want)
			}
		})
	}
}

// staleACKPeer behaves like node-hl7-server on a reused connection: the
// Nth frame gets N ACKs, one for each frame seen so far.
func staleACKPeer(t *testing.T) string {
	ln := newLoopback(t)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				sc := NewScanner(c, 0)
				var seen [][]byte
				for sc.Scan() {
					seen = append(seen, bytes.Clone(sc.Bytes()))
					var out []byte
					for _, p := range seen {
						out = AppendFrame(out, ack("AA", p))
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			})
		}
	})
	return ln.Addr().String()
}

func TestSenderStaleACKs(t *testing.T) {
	s := newSender(t, testSender(staleACKPeer(t)))
	if _, err := s.Send(t.Context(), msg("ST1"), verifyID("ST1")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Send(t.Context(), msg("ST2"), verifyID("ST2"))
	if !errors.Is(err, ErrReplyRejected) {
		t.Fatalf("out-of-step reply: err = %v, want ErrReplyRejected", err)
	}
	if _, err := s.Send(t.Context(), msg("ST3"), verifyID("ST3")); err != nil {
		t.Fatalf("Send on fresh connection: %v", err)
	}
}

func TestSenderConcurrent(t *testing.T) {
	h := &connCounter{}
	r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
	s := newSender(t, testSender(r.addr))
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("C%d-%d", w, i)
				reply, err := s.Send(t.Context(), msg(id), verifyID(id))
				if err != nil || ackControl(reply) != id {
					t.Errorf("Send %s: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if conns, frames := h.counts(); conns != 1 || frames != workers*each {
		t.Fatalf("server saw %d conns, %d frames", conns, frames)
	}
}

func TestSenderClose(t *testing.T) {
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
		if controlID(req.Payload) == "HOLD" {
			<-release
		}
		return ackHandler(ctx, req)
	})
	r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
	defer close(release)
	s := newSender(t, testSender(r.addr))
	done := make(chan error, 1)
	go func() {
		_, err := s.Send(t.Context(), msg("HOLD"), nil)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("in-flight Send after Close = %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not interrupt Send")
	}
	if _, err := s.Send(t.Context(), msg("X"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestSenderConnectFails(t *testing.T) {
	ln := newLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	s := newSender(t, testSender(addr))
	start := time.Now()
	_, err := s.Send(t.Context(), msg("DOWN"), nil)
	if err == nil || errors.Is(err, ErrACKTimeout) {
		t.Fatalf("Send to closed port = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("3 attempts took %v", d)
	}
}

func TestSenderInvalidPayload(t *testing.T) {
	s := newSender(t, testSender("127.0.0.1:1"))
	for _, p := range []string{"a\x0bb", "a\x1cb"} {
		if _, err := s.Send(t.Context(), []byte(p), nil); !errors.Is(err, ErrInvalidPayload) {
			t.Fatalf("Send(%q) = %v", p, err)
		}
	}
}
