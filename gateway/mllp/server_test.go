package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestServerPipelined(t *testing.T) {
	r := startServer(t, testConfig(), ackHandler, zerolog.Nop(), nil)
	c := dialRaw(t, r.addr)
	const n = 20
	var wire []byte
	for i := range n {
		wire = AppendFrame(wire, msg(fmt.Sprintf("P%03d", i)))
	}
	if _, err := c.Write(wire); err != nil { // all frames in one write
		t.Fatal(err)
	}
	for i := range n {
		if got, want := ackControl(c.next(t, 2*time.Second)), fmt.Sprintf("P%03d", i); got != want {
			t.Fatalf("reply %d answers %q, want %q", i, got, want)
		}
	}
}

func TestServerFrames(t *testing.T) {
	big := append(msg("BIG1"), bytes.Repeat([]byte("NTE|1||padding\r"), 400)...)
	tests := []struct {
		name  string
		wire  []byte
		codes []string // ack code + control id per expected reply
	}{
		{"oversize then next frame on same connection",
			append(Encode(big), Encode(msg("NEXT1"))...), []string{"AR BIG1", "AA NEXT1"}},
		{"garbage and restart",
			append([]byte("\r\njunk\x0bMSH|partial"), Encode(msg("R1"))...), []string{"AA R1"}},
		{"split frame", Encode(msg("S1")), []string{"AA S1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var truncated atomic.Int32
			h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
				if req.Truncated {
					if !errors.Is(req.Err, ErrFrameTooLarge) || len(req.Payload) != 1024 || req.FrameSize != len(big) {
						t.Errorf("truncated request: err %v, %d bytes, size %d", req.Err, len(req.Payload), req.FrameSize)
					}
					truncated.Add(1)
				}
				return ackHandler(ctx, req)
			})
			cfg := testConfig()
			cfg.MaxFrameBytes = 1024
			r := startServer(t, cfg, h, zerolog.Nop(), nil)
			c := dialRaw(t, r.addr)
			for i := range tc.wire { // one byte per write where cheap, else whole
				if len(tc.wire) > 2048 {
					if _, err := c.Write(tc.wire); err != nil {
						t.Fatal(err)
					}
					break
				}
				if _, err := c.Write(tc.wire[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range tc.codes {
				reply := c.next(t, 2*time.Second)
				_, msa, _ := bytes.Cut(reply, []byte("MSA|"))
				if got := strings.Replace(strings.TrimRight(string(msa), "\r"), "|", " ", 1); got != want {
					t.Fatalf("reply %q, want %q", got, want)
				}
			}
		})
	}
}

func TestServerTimeouts(t *testing.T) {
	tests := []struct {
		name  string
		idle  time.Duration
		frame time.Duration
		send  string
	}{
		{"idle timeout closes idle connection", 100 * time.Millisecond, 5 * time.Second, ""},
		{"garbage does not reset idle timeout", 100 * time.Millisecond, 5 * time.Second, "junk"},
		{"frame timeout closes slow frame", 5 * time.Second, 100 * time.Millisecond, "\x0bMSH|partial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.IdleTimeout, cfg.FrameTimeout = tc.idle, tc.frame
			r := startServer(t, cfg, ackHandler, zerolog.Nop(), nil)
			c := dialRaw(t, r.addr)
			start := time.Now()
			if tc.send != "" {
				if _, err := c.Write([]byte(tc.send)); err != nil {
					t.Fatal(err)
				}
			}
			if !c.closed(3 * time.Second) {
				t.Fatal("connection not closed")
			}
			if d := time.Since(start); d < 80*time.Millisecond || d > 2*time.Second {
				t.Fatalf("closed after %v", d)
			}
		})
	}
}

func TestServerMaxConns(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConns = 2
	r := startServer(t, cfg, ackHandler, zerolog.Nop(), nil)
	a, b := dialRaw(t, r.addr), dialRaw(t, r.addr)
	for i, c := range []*rawClient{a, b} { // both registered once answered
		if _, err := c.Write(Encode(msg(fmt.Sprint("M", i)))); err != nil {
			t.Fatal(err)
		}
		c.next(t, 2*time.Second)
	}
	extra := dialRaw(t, r.addr)
	if !extra.closed(2 * time.Second) {
		t.Fatal("connection over max_conns not closed")
	}
	a.Close()
	deadline := time.Now().Add(2 * time.Second)
	for { // the slot frees once the server sees a's close
		c := dialRaw(t, r.addr)
		if _, err := c.Write(Encode(msg("AGAIN"))); err == nil {
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if c.sc.Scan() {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no slot after a connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServerTLS(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name       string
		clientAuth bool
		clientCert bool
		wantErr    bool
	}{
		{"tls", false, false, false},
		{"tls with optional client cert", false, true, false},
		{"mtls with client cert", true, true, false},
		{"mtls without client cert", true, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var peerCN atomic.Value
			var remotes sync.Map
			h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
				remotes.Store(req.RemoteAddr.String(), true)
				if req.TLS == nil {
					t.Error("request without TLS state")
				} else if len(req.TLS.PeerCertificates) > 0 {
					peerCN.Store(req.TLS.PeerCertificates[0].Subject.CommonName)
				}
				return ackHandler(ctx, req)
			})
			cfg := testConfig()
			cfg.TLS = &TLSConfig{CertFile: p.ServerCert, KeyFile: p.ServerKey, CAFile: p.CAFile, ClientAuth: tc.clientAuth}
			r := startServer(t, cfg, h, zerolog.Nop(), nil)
			scfg := testSender(r.addr)
			scfg.MaxAttempts = 1
			scfg.TLS = &TLSConfig{CAFile: p.CAFile}
			if tc.clientCert {
				scfg.TLS.CertFile, scfg.TLS.KeyFile = p.ClientCert, p.ClientKey
			}
			s, err := NewSender(scfg, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			reply, err := s.Send(t.Context(), msg("TLS1"), verifyID("TLS1"))
			if tc.wantErr {
				if err == nil {
					t.Fatal("send without client certificate succeeded")
				}
				return
			}
			if err != nil || ackControl(reply) != "TLS1" {
				t.Fatalf("Send: %v", err)
			}
			if cn, _ := peerCN.Load().(string); tc.clientCert != (cn == "client") {
				t.Fatalf("peer certificate CN %q, client cert sent %v", cn, tc.clientCert)
			}
			if _, err := s.Send(t.Context(), msg("TLS2"), verifyID("TLS2")); err != nil {
				t.Fatalf("second Send: %v", err)
			}
			n := 0
			remotes.Range(func(any, any) bool { n++; return true })
			if n != 1 {
				t.Fatalf("TLS connection not reused: %d connections", n)
			}
		})
	}
	t.Run("plain client to tls server", func(t *testing.T) {
		cfg := testConfig()
		cfg.TLS = &TLSConfig{CertFile: p.ServerCert, KeyFile: p.ServerKey}
		r := startServer(t, cfg, ackHandler, zerolog.Nop(), nil)
		c := dialRaw(t, r.addr)
		_, _ = c.Write(Encode(msg("PLAIN")))
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if c.sc.Scan() {
			t.Fatal("plain client got a frame from a TLS server")
		}
	})
	t.Run("untrusted server", func(t *testing.T) {
		cfg := testConfig()
		cfg.TLS = &TLSConfig{CertFile: p.ServerCert, KeyFile: p.ServerKey}
		r := startServer(t, cfg, ackHandler, zerolog.Nop(), nil)
		s, err := NewSender(SenderConfig{Addr: r.addr, MaxAttempts: 1, TLS: &TLSConfig{CAFile: newPKI(t).CAFile}}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Send(t.Context(), msg("U1"), nil); err == nil {
			t.Fatal("send to untrusted server succeeded")
		}
	})
}

func TestServerGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
		if controlID(req.Payload) == "SLOW" {
			close(started)
			time.Sleep(300 * time.Millisecond)
		}
		return ackHandler(ctx, req)
	})
	r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
	idle := dialRaw(t, r.addr)
	if _, err := idle.Write(Encode(msg("IDLE"))); err != nil {
		t.Fatal(err)
	}
	idle.next(t, 2*time.Second)
	busy := dialRaw(t, r.addr)
	if _, err := busy.Write(Encode(msg("SLOW"))); err != nil {
		t.Fatal(err)
	}
	<-started
	stopped := make(chan struct{})
	go func() { r.stop(t); close(stopped) }() // checks Shutdown nil, Serve ErrServerClosed
	if !idle.closed(time.Second) {
		t.Fatal("idle connection not closed by Shutdown")
	}
	if got := ackControl(busy.next(t, 2*time.Second)); got != "SLOW" {
		t.Fatalf("in-flight reply answers %q", got)
	}
	if !busy.closed(time.Second) {
		t.Fatal("busy connection not closed after its reply")
	}
	<-stopped
	if _, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
		t.Fatal("listener still accepting after Shutdown")
	}
	if err := r.srv.Serve(newLoopback(t)); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v", err)
	}
	if err := r.srv.ListenAndServe(); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ListenAndServe after Shutdown = %v", err)
	}
}

func newLoopback(t testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestServerHardShutdown(t *testing.T) {
	started := make(chan struct{})
	canceled := make(chan error, 1)
	h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
		close(started)
		<-ctx.Done()
		canceled <- ctx.Err()
		return nil
	})
	r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
	c := dialRaw(t, r.addr)
	if _, err := c.Write(Encode(msg("STUCK"))); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := r.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler ctx err = %v", err)
	}
	if !c.closed(time.Second) {
		t.Fatal("connection not closed at hard shutdown")
	}
}

func TestServerHandlerEdgeCases(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, req *Request) []byte {
		switch controlID(req.Payload) {
		case "PANIC":
			panic("handler bug")
		case "SILENT":
			return nil
		}
		return ackHandler(ctx, req)
	})
	r := startServer(t, testConfig(), h, zerolog.Nop(), nil)
	c := dialRaw(t, r.addr)
	if _, err := c.Write(append(Encode(msg("SILENT")), Encode(msg("AFTER"))...)); err != nil {
		t.Fatal(err)
	}
	if got := ackControl(c.next(t, 2*time.Second)); got != "AFTER" {
		t.Fatalf("reply after a silent frame answers %q", got)
	}
	if _, err := c.Write(Encode(msg("PANIC"))); err != nil {
		t.Fatal(err)
	}
	if !c.closed(2 * time.Second) {
		t.Fatal("connection not closed after handler panic")
	}
	c2 := dialRaw(t, r.addr)
	if _, err := c2.Write(Encode(msg("OK"))); err != nil {
		t.Fatal(err)
	}
	if got := ackControl(c2.next(t, 2*time.Second)); got != "OK" {
		t.Fatalf("server broken after panic: %q", got)
	}
}

func TestServerAddrAndTLSFiles(t *testing.T) {
	srv, err := New(testConfig(), ackHandler, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != nil {
		t.Fatal("Addr before Serve is not nil")
	}
	cfg := testConfig()
	cfg.TLS = &TLSConfig{CertFile: "missing.crt", KeyFile: "missing.key"}
	srv, err = New(cfg, ackHandler, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(newLoopback(t)); err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve with missing cert files = %v", err)
	}
	if _, err := New(testConfig(), nil, zerolog.Nop()); err == nil {
		t.Fatal("New accepted a nil handler")
	}
}
