package channels

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/gateway/mllp/mllptest"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
)

// destCanaryVXU is a synthetic VXU carrying the PHI canary markers (name
// ZZTEST, MRN PAT123, DOB 20200101). None of them may reach an error or a
// log line.
const destCanaryVXU = "MSH|^~\\&|MYEHR|MYCLINIC^1.2.3^ISO|MYIIS|MYSTATE|20250101120000-0500||VXU^V04^VXU_V04|CANARY-0001|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PAT123^^^MYCLINIC^MR||ZZTEST^ALPHA^^^^^L||20200101|F\r" +
	"ORC|RE||197023^CMC\r" +
	"RXA|0|1|20200101|20200101|08^HepB^CVX|999|||01^Historical^NIP001\r"

// destCanaries are the markers that must never appear in errors or logs.
var destCanaries = []string{"ZZTEST", "PAT123", "20200101"}

// destLogger returns a debug-level logger writing to a buffer that is
// checked for canaries when the test ends.
func destLogger(t *testing.T) zerolog.Logger {
	t.Helper()
	buf := &phitest.LogBuffer{}
	t.Cleanup(func() { assertNoCanary(t, "log", buf.String()) })
	return zerolog.New(buf).Level(zerolog.DebugLevel)
}

// assertNoCanary fails if s holds a PHI marker or the test credential.
func assertNoCanary(t *testing.T, what, s string) {
	t.Helper()
	for _, c := range append(slices.Clone(destCanaries), "s3cr3t") {
		if strings.Contains(s, c) {
			t.Errorf("%s contains canary %q: %s", what, c, s)
		}
	}
}

// assertErrNoCanary checks err in every format.
func assertErrNoCanary(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	assertNoCanary(t, "error", fmt.Sprintf("%s | %v | %+v | %#v", err.Error(), err, err, err))
}

// ---- component table ----

func TestDestinationKindsTable(t *testing.T) {
	if got, want := destinationKinds.kinds(), []string{"mllp", "http", "file", "iis"}; !slices.Equal(got, want) {
		t.Errorf("kinds = %v, want %v", got, want)
	}
}

func TestComponentTableDuplicatePanics(t *testing.T) {
	nop := destinationKind(func(DestinationConfig, zerolog.Logger) (Destination, error) { return nil, nil })
	sel := func(DestinationConfig) bool { return false }
	tests := []struct {
		name string
		rows []component[DestinationConfig, destinationKind]
		want string
	}{
		{"duplicate", []component[DestinationConfig, destinationKind]{{"mllp", sel, nop}, {"http", sel, nop}, {"mllp", sel, nop}}, `"mllp" registered twice`},
		{"no name", []component[DestinationConfig, destinationKind]{{"", sel, nop}}, "without a name"},
		{"no selector", []component[DestinationConfig, destinationKind]{{"x", nil, nop}}, "without a name or selector"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(r); !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want it to contain %q", msg, tc.want)
				}
			}()
			newComponentTable("destination", tc.rows)
		})
	}
}

func TestBuildDestination(t *testing.T) {
	log := destLogger(t)
	tests := []struct {
		name    string
		cfg     DestinationConfig
		want    string // type name, "" for an error
		wantErr error
	}{
		{"mllp", DestinationConfig{Name: "a", MLLP: &mllp.SenderConfig{Addr: "127.0.0.1:2575"}}, "*channels.mllpDestination", nil},
		{"http", DestinationConfig{Name: "b", HTTP: &HTTPDestinationConfig{URL: "https://iis.example.org/hl7", Timeout: time.Second}}, "*channels.httpDestination", nil},
		{"file", DestinationConfig{Name: "c", File: &FileDestinationConfig{Dir: t.TempDir()}}, "*channels.fileDestination", nil},
		{"none", DestinationConfig{Name: "d"}, "", ErrNoDestinationKind},
		{"two", DestinationConfig{Name: "e", MLLP: &mllp.SenderConfig{Addr: "127.0.0.1:2575"}, File: &FileDestinationConfig{Dir: "x"}}, "", ErrNoDestinationKind},
		{"bad mllp", DestinationConfig{Name: "f", MLLP: &mllp.SenderConfig{Addr: "nope"}}, "", nil},
		{"missing ca", DestinationConfig{Name: "g", HTTP: &HTTPDestinationConfig{URL: "https://iis.example.org/", CAFile: filepath.Join(t.TempDir(), "none.pem")}}, "", fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := buildDestination(tc.cfg, log)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("got %T, want an error", d)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", d); got != tc.want {
				t.Errorf("type %s, want %s", got, tc.want)
			}
			if err := d.Close(t.Context()); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// ---- MLLP ----

// startMLLPPeer serves h on a loopback port and returns its address.
func startMLLPPeer(t *testing.T, h mllp.HandlerFunc) string {
	t.Helper()
	srv, err := mllp.New(mllp.Config{Addr: "127.0.0.1:0", IdleTimeout: 5 * time.Second, FrameTimeout: 5 * time.Second, WriteTimeout: 2 * time.Second}, h, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, mllp.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// testMLLPSender is a sender config with short timeouts.
func testMLLPSender(addr string) mllp.SenderConfig {
	return mllp.SenderConfig{Addr: addr, DialTimeout: 2 * time.Second, ACKTimeout: 2 * time.Second,
		Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxAttempts: 1}
}

// ackFor answers payload with a real ACK (hl7.BuildACK) of the given code.
func ackFor(payload []byte, code string, errs []hl7.ErrorDetail) []byte {
	m, err := hl7.Parse(payload)
	if err != nil {
		return []byte("garbage")
	}
	return hl7.BuildACK(m, code, errs, hl7.ACKOptions{SendingApp: "MYIIS"})
}

func TestMLLPDestinationReplies(t *testing.T) {
	cvx := []hl7.ErrorDetail{{Location: hl7.Location{Segment: "RXA", Seq: 1, Field: 5}, Code: "999", CodeText: "Application error",
		Severity: 'E', AppCode: "5", AppCodeText: "Table value not found", UserMessage: "Vaccine code not recognized"}}
	tests := []struct {
		name      string
		reply     func(payload []byte) []byte
		wantCode  string // MSA-1 of the reply returned, "" when err
		wantRetry bool
		wantErr   error
	}{
		{"AA", func(p []byte) []byte { return ackFor(p, "AA", nil) }, "AA", false, nil},
		{"AE is not an error", func(p []byte) []byte { return ackFor(p, "AE", cvx) }, "AE", false, nil},
		{"AR is not an error", func(p []byte) []byte { return ackFor(p, "AR", nil) }, "AR", false, nil},
		{"empty MSA-2 accepted", func([]byte) []byte {
			return []byte("MSH|^~\\&|MYIIS|MYSTATE|MYEHR|MYCLINIC|20250101||ACK|X1|P|2.5.1\rMSA|AA\r")
		}, "AA", false, nil},
		{"mismatched control id", func(p []byte) []byte {
			m, _ := hl7.Parse(p)
			m, _ = m.Set("MSH-10", "SOMETHING-ELSE")
			return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{})
		}, "", true, hl7.ErrControlIDMismatch},
		{"not HL7", func([]byte) []byte { return []byte("OK thanks") }, "", false, ErrReplyNotACK},
		{"HL7 without MSA", func([]byte) []byte {
			return []byte("MSH|^~\\&|MYIIS|MYSTATE|MYEHR|MYCLINIC|20250101||ADT^A08|X2|P|2.5.1\rEVN|A08\r")
		}, "", false, ErrReplyNotACK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startMLLPPeer(t, func(_ context.Context, r *mllp.Request) []byte { return tc.reply(r.Payload) })
			d, err := newMLLPDestination(testMLLPSender(addr), destLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close(t.Context()) }()
			reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
			assertErrNoCanary(t, err)
			if retry != tc.wantRetry {
				t.Errorf("retry = %v, want %v (err %v)", retry, tc.wantRetry, err)
			}
			if tc.wantCode == "" {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if reply != nil {
					t.Error("reply not nil with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, perr := hl7.Parse(reply)
			if perr != nil {
				t.Fatal(perr)
			}
			if got := m.Value("MSA-1"); got != tc.wantCode {
				t.Errorf("MSA-1 = %q, want %q", got, tc.wantCode)
			}
		})
	}
}

func TestMLLPDestinationMismatchThenInStep(t *testing.T) {
	// After a mismatched ACK the connection is dropped; the next attempt
	// on a fresh connection succeeds.
	var mu sync.Mutex
	n := 0
	addr := startMLLPPeer(t, func(_ context.Context, r *mllp.Request) []byte {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			m, _ := hl7.Parse(r.Payload)
			m, _ = m.Set("MSH-10", "STALE")
			return hl7.BuildACK(m, "AA", nil, hl7.ACKOptions{})
		}
		return ackFor(r.Payload, "AA", nil)
	})
	d, err := newMLLPDestination(testMLLPSender(addr), destLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(t.Context()) }()
	if _, retry, err := d.Send(t.Context(), []byte(destCanaryVXU)); err == nil || !retry {
		t.Fatalf("first send: retry %v err %v, want a retryable error", retry, err)
	}
	if _, _, err := d.Send(t.Context(), []byte(destCanaryVXU)); err != nil {
		t.Fatalf("second send: %v", err)
	}
}

func TestMLLPDestinationTransportFailures(t *testing.T) {
	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		d, err := newMLLPDestination(testMLLPSender(addr), destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if err == nil || !retry || reply != nil {
			t.Fatalf("reply %q retry %v err %v, want a retryable error", reply, retry, err)
		}
		assertErrNoCanary(t, err)
	})
	t.Run("ack timeout", func(t *testing.T) {
		release := make(chan struct{})
		addr := startMLLPPeer(t, func(ctx context.Context, r *mllp.Request) []byte {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		t.Cleanup(func() { close(release) }) // runs before the peer's shutdown
		cfg := testMLLPSender(addr)
		cfg.ACKTimeout = 150 * time.Millisecond
		d, err := newMLLPDestination(cfg, destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = d.Close(t.Context()) }()
		_, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if !errors.Is(err, mllp.ErrACKTimeout) || !retry {
			t.Fatalf("retry %v err %v, want ErrACKTimeout with retry", retry, err)
		}
		assertErrNoCanary(t, err)
	})
	t.Run("payload not HL7", func(t *testing.T) {
		d, err := newMLLPDestination(testMLLPSender("127.0.0.1:1"), destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		_, retry, err := d.Send(t.Context(), []byte("PID|1||PAT123^^^X||ZZTEST\r"))
		if !errors.Is(err, ErrPayloadNotHL7) || retry {
			t.Fatalf("retry %v err %v, want ErrPayloadNotHL7 without retry", retry, err)
		}
		assertErrNoCanary(t, err)
	})
	t.Run("closed", func(t *testing.T) {
		d, err := newMLLPDestination(testMLLPSender("127.0.0.1:1"), destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		_, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if !errors.Is(err, mllp.ErrClosed) || !retry {
			t.Fatalf("retry %v err %v, want ErrClosed with retry (the item stays queued)", retry, err)
		}
	})
}

func TestMLLPDestinationTLS(t *testing.T) {
	pki := mllptest.NewPKI(t)
	srv, err := mllp.New(mllp.Config{Addr: "127.0.0.1:0", TLS: &mllp.TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}},
		mllp.HandlerFunc(func(_ context.Context, r *mllp.Request) []byte { return ackFor(r.Payload, "AA", nil) }), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // Serve adds TLS
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	addr := ln.Addr().String()

	tests := []struct {
		name      string
		tls       *mllp.TLSConfig
		wantErr   bool
		wantRetry bool
	}{
		{"trusted", &mllp.TLSConfig{CAFile: pki.CAFile}, false, false},
		{"untrusted", &mllp.TLSConfig{}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testMLLPSender(addr)
			cfg.TLS = tc.tls
			d, err := newMLLPDestination(cfg, destLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close(t.Context()) }()
			reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
			if (err != nil) != tc.wantErr || retry != tc.wantRetry {
				t.Fatalf("retry %v err %v, want error %v retry %v", retry, err, tc.wantErr, tc.wantRetry)
			}
			if !tc.wantErr {
				if code, err := hl7.CheckACK(reply, "CANARY-0001"); err != nil || code != "AA" {
					t.Errorf("reply %s: %v", code, err)
				}
			}
			assertErrNoCanary(t, err)
		})
	}
}

func TestReturnDestinationSendsToEHR(t *testing.T) {
	got := make(chan string, 1)
	addr := startMLLPPeer(t, func(_ context.Context, r *mllp.Request) []byte {
		m, _ := hl7.Parse(r.Payload)
		got <- m.ControlID()
		return ackFor(r.Payload, "AA", nil)
	})
	d, err := buildReturnDestination(ReturnConfig{MLLP: testMLLPSender(addr), Mode: "ack"}, destLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(t.Context()) }()
	orig, err := hl7.Parse([]byte(destCanaryVXU))
	if err != nil {
		t.Fatal(err)
	}
	ret, err := buildReturn(orig, nil, "accepted", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Send(t.Context(), ret); err != nil {
		t.Fatal(err)
	}
	if id := <-got; !strings.HasPrefix(id, "R") {
		t.Errorf("EHR got control id %q, want the return's own", id)
	}
}

// ---- HTTP ----

// httpSeen is what the test server saw of the last request.
type httpSeen struct {
	mu     sync.Mutex
	header http.Header
	body   []byte
	method string
}

// echoServer answers every request with status and the request body
// echoed back (as a careless registry would), recording the request.
func echoHandler(seen *httpSeen, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen.mu.Lock()
		seen.header, seen.body, seen.method = r.Header.Clone(), body, r.Method
		seen.mu.Unlock()
		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("echo: "))
		_, _ = w.Write(body)
	}
}

func TestHTTPDestinationStatus(t *testing.T) {
	tests := []struct {
		status    int
		wantOK    bool
		wantRetry bool
	}{
		{200, true, false},
		{201, true, false},
		{202, true, false},
		{302, false, false},
		{400, false, false},
		{401, false, false},
		{404, false, false},
		{408, false, true},
		{429, false, true},
		{500, false, true},
		{501, false, false},
		{502, false, true},
		{503, false, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			seen := &httpSeen{}
			srv := httptest.NewServer(echoHandler(seen, tc.status))
			defer srv.Close()
			d, err := newHTTPDestination(HTTPDestinationConfig{
				URL:           srv.URL + "/hl7/token-in-path?key=abc",
				Headers:       map[string]string{"X-Facility": "MYCLINIC"},
				Authorization: field.NewSecret("Bearer s3cr3t"),
				Timeout:       5 * time.Second,
			}, destLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close(t.Context()) }()
			reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
			if retry != tc.wantRetry {
				t.Errorf("retry = %v, want %v", retry, tc.wantRetry)
			}
			if tc.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				if want := "echo: " + destCanaryVXU; string(reply) != want {
					t.Errorf("reply = %q, want the body", reply)
				}
			} else {
				var se *HTTPStatusError
				if !errors.As(err, &se) || se.StatusCode != tc.status || !errors.Is(err, ErrHTTPStatus) {
					t.Fatalf("err = %v, want an HTTPStatusError %d", err, tc.status)
				}
				host := strings.TrimPrefix(srv.URL, "http://")
				if msg := err.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, fmt.Sprint(tc.status)) ||
					strings.Contains(msg, "echo") || strings.Contains(msg, "token-in-path") || strings.Contains(msg, "key=abc") {
					t.Errorf("error %q: want host and status only", msg)
				}
				if reply != nil {
					t.Error("reply not nil with an error")
				}
				assertErrNoCanary(t, err)
			}
			seen.mu.Lock()
			defer seen.mu.Unlock()
			if seen.method != http.MethodPost || string(seen.body) != destCanaryVXU {
				t.Errorf("server got %s with %d bytes, want POST of the payload", seen.method, len(seen.body))
			}
			for k, want := range map[string]string{
				"Content-Type":  "x-application/hl7-v2+er7",
				"Authorization": "Bearer s3cr3t",
				"X-Facility":    "MYCLINIC",
			} {
				if got := seen.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestHTTPDestinationTransportFailures(t *testing.T) {
	t.Run("server down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		d, err := newHTTPDestination(HTTPDestinationConfig{URL: url + "/p?key=abc", Timeout: 2 * time.Second}, destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		_, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if err == nil || !retry {
			t.Fatalf("retry %v err %v, want a retryable error", retry, err)
		}
		if strings.Contains(err.Error(), "key=abc") {
			t.Errorf("error %q shows the URL query", err)
		}
		assertErrNoCanary(t, err)
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release) // before Close, which waits for the handler
		d, err := newHTTPDestination(HTTPDestinationConfig{URL: srv.URL, Timeout: 100 * time.Millisecond}, destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = d.Close(t.Context()) }()
		_, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if !errors.Is(err, errHTTPTimeout) || !retry {
			t.Fatalf("retry %v err %v, want the timeout with retry", retry, err)
		}
		assertErrNoCanary(t, err)
	})
}

func TestHTTPDestinationTLS(t *testing.T) {
	seen := &httpSeen{}
	srv := httptest.NewUnstartedServer(echoHandler(seen, http.StatusOK))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the "untrusted" case's handshake failure
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("trusted by ca_file", func(t *testing.T) {
		d, err := newHTTPDestination(HTTPDestinationConfig{URL: srv.URL, CAFile: ca, Timeout: 5 * time.Second}, destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = d.Close(t.Context()) }()
		reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if err != nil || retry || !bytes.HasSuffix(reply, []byte(destCanaryVXU)) {
			t.Fatalf("reply %d bytes retry %v err %v", len(reply), retry, err)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		d, err := newHTTPDestination(HTTPDestinationConfig{URL: srv.URL, Timeout: 5 * time.Second}, destLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = d.Close(t.Context()) }()
		_, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if err == nil || retry {
			t.Fatalf("retry %v err %v, want a certificate error without retry", retry, err)
		}
		assertErrNoCanary(t, err)
	})
	t.Run("ca_file not PEM", func(t *testing.T) {
		if _, err := newHTTPDestination(HTTPDestinationConfig{URL: srv.URL, CAFile: notPEM, Timeout: time.Second}, zerolog.Nop()); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestHTTPDestinationSecretNotInConfigDump(t *testing.T) {
	cfg := HTTPDestinationConfig{URL: "https://iis.example.org/", Authorization: field.NewSecret("Bearer s3cr3t")}
	assertNoCanary(t, "config dump", fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg))
}

// ---- file ----

func TestFileDestination(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out", "sub")
	d, err := newFileDestination(FileDestinationConfig{Dir: dir}, destLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("EST", -5*3600))
	d.now = func() time.Time { return at }

	for range 3 { // the same control id in the same microsecond: three files
		reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
		if err != nil || retry || reply != nil {
			t.Fatalf("reply %q retry %v err %v", reply, retry, err)
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("dir mode %o, want 700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s: mode %o, want 600", e.Name(), perm)
		}
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != destCanaryVXU {
			t.Errorf("%s: content differs from the payload", e.Name())
		}
	}
	want := []string{ // UTC time; no temporary file left behind
		"20250102-080405.123456-CANARY-0001-2.hl7",
		"20250102-080405.123456-CANARY-0001-3.hl7",
		"20250102-080405.123456-CANARY-0001.hl7",
	}
	if !slices.Equal(names, want) {
		t.Errorf("files %q, want %q", names, want)
	}
}

func TestFileDestinationError(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := newFileDestination(FileDestinationConfig{Dir: notDir}, destLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	reply, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
	if err == nil || !retry || reply != nil {
		t.Fatalf("reply %q retry %v err %v, want a retryable error", reply, retry, err)
	}
	assertErrNoCanary(t, err)
}

func TestFileSafeControlID(t *testing.T) {
	msh := func(id string) []byte {
		return []byte("MSH|^~\\&|A|B|C|D|20250101||VXU^V04|" + id + "|P|2.5.1\r")
	}
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"plain", msh("NIST-IZ-1.0_a"), "NIST-IZ-1.0_a"},
		{"path characters", msh(`../a/b\c d:e`), ".._a_b_c_d_e"},
		{"escaped delimiter", msh(`A\F\B`), "A_B"},
		{"empty", msh(""), "unknown"},
		{"not HL7", []byte("hello"), "unknown"},
		{"long", msh(strings.Repeat("x", 200)), strings.Repeat("x", 64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fileSafeControlID(tc.payload); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
