package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
	// Renamed: golden is this package's own helper, defined below.
	goldenfile "github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/internal/phitest"
)

// Canaries: the password, and a VXU for a synthetic patient carrying the
// project's PHI markers (ZZTEST, PAT123, 20200101). Neither may appear in
// an error string.
const (
	canaryPassword = "pw-CANARY-7f3e&<x>"
	testUser       = "ehr-user"
	testFacility   = "FAC-01"
)

// vxu returns a synthetic VXU^V04 with control id id, CR-separated, with a
// trailing CR, holding characters that need escaping (& < >).
func vxu(id string) []byte {
	segs := []string{
		`MSH|^~\&|EHR|CLINIC|IIS|STATE|20250101120000||VXU^V04^VXU_V04|` + id + `|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS`,
		`PID|1||PAT123^^^CLINIC^MR||ZZTEST^ALPHA^Q^^^^L|ZZTEST^MOM|20200101|F||2106-3^White^CDCREC|1 <TEST> ST & SONS^^ANYTOWN^MN^55555^USA^P`,
		`ORC|RE||IMM-` + id + `^CLINIC`,
		`RXA|0|1|20250101||08^Hep B, adolescent or pediatric^CVX|0.5|mL^milliliters^UCUM||00^New immunization record^NIP001|||||||LOT0001||MSD^Merck and Co., Inc.^MVX|||CP|A`,
		`RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163`,
		`OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible - Medicaid/Medicaid Managed Care^HL70064||||||F|||20250101|||VXC40^Eligibility captured at the immunization level^CDCPHINVS`,
	}
	return []byte(strings.Join(segs, "\r") + "\r")
}

// vxu2K returns a VXU of about 2 KB (the benchmark size).
func vxu2K(id string) []byte {
	m := vxu(id)
	extra := `OBX|2|TS|29768-9^Date vaccine information statement published^LN|1|20120202||||||F` + "\r" +
		`OBX|3|TS|29769-7^Date vaccine information presented^LN|1|20250101||||||F` + "\r"
	for len(m) < 2000 {
		m = append(m, extra...)
	}
	return m
}

// field returns HL7 field n (MSH-1 = "|") of segment seg of a CR message.
func hl7Field(msg []byte, seg string, n int) string {
	for _, s := range bytes.Split(msg, []byte("\r")) {
		if !bytes.HasPrefix(s, []byte(seg+"|")) {
			continue
		}
		f := bytes.Split(s, []byte("|"))
		if seg == "MSH" {
			n-- // f[0]="MSH", f[1]=MSH-2
		}
		if n < len(f) {
			return string(f[n])
		}
		return ""
	}
	return ""
}

// ackFor builds a minimal ACK for msg.
func ackFor(msg []byte, code string) []byte {
	id := hl7Field(msg, "MSH", 10)
	return []byte(`MSH|^~\&|IIS|STATE|EHR|CLINIC|20250101120001||ACK^V04^ACK|ACK` + id + `|P|2.5.1` + "\r" +
		"MSA|" + code + "|" + id + "\r")
}

// iis is a test Handler: it acknowledges each message AA, echoes, and
// records what it received. Fail, when set, decides the error to return.
type iis struct {
	mu    sync.Mutex
	got   []SubmitRequest
	echos []string
	fail  func(SubmitRequest) error
	calls atomic.Int32
}

func (h *iis) SubmitSingleMessage(_ context.Context, req SubmitRequest) ([]byte, error) {
	h.calls.Add(1)
	h.mu.Lock()
	h.got = append(h.got, req)
	fail := h.fail
	h.mu.Unlock()
	if fail != nil {
		if err := fail(req); err != nil {
			return nil, err
		}
	}
	return ackFor(req.Message, "AA"), nil
}

func (h *iis) ConnectivityTest(_ context.Context, echo string) (string, error) {
	h.calls.Add(1)
	h.mu.Lock()
	h.echos = append(h.echos, echo)
	h.mu.Unlock()
	return echo, nil
}

func (h *iis) last(t *testing.T) SubmitRequest {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) == 0 {
		t.Fatal("the handler received no submitSingleMessage")
	}
	return h.got[len(h.got)-1]
}

// baseConfig is a client configuration for url with quick retries.
func baseConfig(url string) ClientConfig {
	return ClientConfig{
		URL:          url,
		Username:     testUser,
		Password:     field.NewSecret(canaryPassword),
		FacilityID:   testFacility,
		Timeout:      5 * time.Second,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 20 * time.Millisecond,
	}
}

func newClient(t testing.TB, cfg ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// counting wraps h and counts the requests it serves.
type counting struct {
	n atomic.Int32
	h http.Handler
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// serve starts a loopback HTTP server for h.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// noLeak fails t if err's text (in every format) holds the password, the
// HL7 payload or a PHI canary.
func noLeak(t testing.TB, what string, err error, payload []byte) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, "CANARY") || strings.Contains(s, canaryPassword) {
			t.Errorf("%s: the error text holds the password", what)
		}
		if len(payload) > 0 && strings.Contains(s, string(payload[:min(len(payload), 40)])) {
			t.Errorf("%s: the error text holds the HL7 payload", what)
		}
		phitest.Check(t, what+" error text", s)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), got)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// asFault returns err as a *Fault or fails t.
func asFault(t *testing.T, err error) *Fault {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) {
		t.Fatalf("got %T %v, want a *Fault", err, err)
	}
	return f
}

// asTransport returns err as a *TransportError or fails t.
func asTransport(t *testing.T, err error) *TransportError {
	t.Helper()
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %T %v, want a *TransportError", err, err)
	}
	return te
}

// quietLog discards a test server's log (expected TLS handshake errors).
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
