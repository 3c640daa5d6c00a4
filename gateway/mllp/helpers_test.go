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

	"github.com/iisync/iisync/gateway/mllp/mllptest"
)

// Canary payloads: synthetic patient data that must never reach a log line
// or an error string.
const (
	canaryMSH = "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|%s|P|2.5.1\r"
	canaryPID = "PID|1||PAT123^^^MRN||ZZTEST^ALPHA||20200101|F\r"
)

// msg returns a synthetic VXU with control id id.
func msg(id string) []byte {
	return []byte(fmtMSH(id) + canaryPID)
}

func fmtMSH(id string) string { return fmt.Sprintf(canaryMSH, id) }

// controlID is the test's stand-in for the HL7 logic the engine injects:
// MSH-10 of a payload, or "" if there is none.
func controlID(p []byte) string {
	seg, _, _ := bytes.Cut(p, []byte("\r"))
	f := bytes.Split(seg, []byte("|"))
	if len(f) < 10 || !bytes.Equal(f[0], []byte("MSH")) {
		return ""
	}
	return string(f[9])
}

// ack builds a minimal ACK for p with the given code.
func ack(code string, p []byte) []byte {
	return []byte(fmtMSH("ACK"+controlID(p)) + "MSA|" + code + "|" + controlID(p) + "\r")
}

// ackControl returns MSA-2 of a reply.
func ackControl(reply []byte) string {
	_, msa, ok := bytes.Cut(reply, []byte("\rMSA|"))
	if !ok {
		return ""
	}
	f := bytes.Split(bytes.TrimRight(msa, "\r"), []byte("|"))
	if len(f) < 2 {
		return ""
	}
	return string(f[1])
}

var errMismatch = errors.New("test: MSA-2 does not match MSH-10")

// verifyID returns a verify function checking MSA-2 == id.
func verifyID(id string) func([]byte) error {
	return func(reply []byte) error {
		if ackControl(reply) != id {
			return errMismatch
		}
		return nil
	}
}

// ackHandler answers AA to whole frames and AR to truncated ones.
var ackHandler = HandlerFunc(func(_ context.Context, r *Request) []byte {
	if r.Truncated {
		return ack("AR", r.Payload)
	}
	return ack("AA", r.Payload)
})

// testConfig is a listener config with short timeouts for tests.
func testConfig() Config {
	return Config{
		Addr:         "127.0.0.1:0",
		IdleTimeout:  5 * time.Second,
		FrameTimeout: 5 * time.Second,
		WriteTimeout: 2 * time.Second,
	}
}

// testSender is a sender config with short timeouts for tests.
func testSender(addr string) SenderConfig {
	return SenderConfig{
		Addr:        addr,
		DialTimeout: 2 * time.Second,
		ACKTimeout:  2 * time.Second,
		Backoff:     10 * time.Millisecond,
		MaxBackoff:  50 * time.Millisecond,
	}
}

// running is a Server serving on a loopback listener.
type running struct {
	srv   *Server
	addr  string
	serve chan error
	once  sync.Once
}

// startServer serves h on ln (or a new 127.0.0.1:0 listener if ln is nil)
// and shuts it down at the end of the test, checking Serve's result.
func startServer(t testing.TB, cfg Config, h Handler, log zerolog.Logger, ln net.Listener) *running {
	t.Helper()
	srv, err := New(cfg, h, log)
	if err != nil {
		t.Fatal(err)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	r := &running{srv: srv, addr: ln.Addr().String(), serve: make(chan error, 1)}
	go func() { r.serve <- srv.Serve(ln) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop shuts the server down (once) and checks Serve returned ErrServerClosed.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() { r.shutdown(t) })
}

func (r *running) shutdown(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-r.serve:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return after Shutdown")
	}
}

// rawClient is a plain TCP client that writes bytes and reads frames.
type rawClient struct {
	net.Conn
	sc *Scanner
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{Conn: c, sc: NewScanner(c, 0)}
}

// next reads one reply frame within d.
func (c *rawClient) next(t testing.TB, d time.Duration) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	if !c.sc.Scan() {
		t.Fatalf("no reply frame: %v", c.sc.Err())
	}
	return bytes.Clone(c.sc.Bytes())
}

// closed reports whether the peer closes the connection within d.
func (c *rawClient) closed(d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [64]byte
	for {
		_, err := c.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// newPKI is the shared test CA (mllptest.NewPKI).
func newPKI(t testing.TB) mllptest.PKI { return mllptest.NewPKI(t) }
