package channels

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/internal/ehrtest"
	"github.com/iisync/iisync/internal/phitest"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// iisPassword is the registry credential of these tests. It holds
// "s3cr3t", which assertNoCanary looks for, and must never reach an error,
// a stored LastError, a return message or a log line.
const iisPassword = "pw-s3cr3t-CANARY&<x>"

const (
	iisUser     = "ehr-user"
	iisFacility = "FAC-01"
)

// registry is a hand-written soap.Handler playing a state IIS. answer
// decides each submit's outcome from its 1-based sequence number; it
// defaults to an AA. Ping echoes "echo: " + echo.
type registry struct {
	answer func(n int, req soap.SubmitRequest) ([]byte, error)
	calls  atomic.Int32 // submitSingleMessage requests that reached the handler
	pings  atomic.Int32

	mu  sync.Mutex
	got []soap.SubmitRequest
}

func (r *registry) SubmitSingleMessage(_ context.Context, req soap.SubmitRequest) ([]byte, error) {
	n := int(r.calls.Add(1))
	r.mu.Lock()
	r.got = append(r.got, req)
	r.mu.Unlock()
	if r.answer == nil {
		return registryACK(req.Message, "AA", "")
	}
	return r.answer(n, req)
}

func (r *registry) ConnectivityTest(_ context.Context, echo string) (string, error) {
	r.pings.Add(1)
	if strings.HasPrefix(echo, "fault") {
		return "", &soap.Fault{Kind: soap.FaultSecurity, Code: "soap:Receiver", CDCCode: "401", Reason: "ZZTEST PAT123 bad password"}
	}
	return "echo: " + echo, nil
}

func (r *registry) requests() []soap.SubmitRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]soap.SubmitRequest(nil), r.got...)
}

// registryACK is the registry's ACK to msg with MSA-1 code, MSA-3 text and
// errs as ERR segments.
func registryACK(msg []byte, code, text string, errs ...hl7.ErrorDetail) ([]byte, error) {
	m, err := hl7.Parse(msg)
	if err != nil {
		return nil, err
	}
	return hl7.BuildACK(m, code, errs, hl7.ACKOptions{SendingApp: "STATEIIS", SendingFacility: "STATE", Text: text}), nil
}

// answerAll answers every submit with the same ACK.
func answerAll(code, text string, errs ...hl7.ErrorDetail) func(int, soap.SubmitRequest) ([]byte, error) {
	return func(_ int, req soap.SubmitRequest) ([]byte, error) {
		return registryACK(req.Message, code, text, errs...)
	}
}

// tlsRegistry serves h as a CDC SOAP registry over HTTPS on loopback and
// returns its endpoint and a CA file that trusts it.
func tlsRegistry(t testing.TB, h soap.Handler) (url, caFile string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(soap.NewServer(h, soap.ServerOptions{}))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the untrusted cases' handshake failures
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "registry-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/IISService", caFile
}

// iisDest is an iis destination to url with quick timeouts. retries is
// the SOAP client's max_retries (-1: none, the queue retries instead).
func iisDest(name, url, caFile string, retries int) DestinationConfig {
	return DestinationConfig{Name: name, IIS: &IISDestinationConfig{ClientConfig: soap.ClientConfig{
		URL: url, CAFile: caFile, Username: iisUser, Password: field.NewSecret(iisPassword), FacilityID: iisFacility,
		Timeout: 5 * time.Second, MaxRetries: retries, RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 50 * time.Millisecond,
	}}}
}

// deliveryTo returns the delivery of m to queue.
func deliveryTo(t testing.TB, m *store.Message, queue string) store.Delivery {
	t.Helper()
	for _, d := range m.Deliveries {
		if d.Destination == queue {
			return d
		}
	}
	t.Fatalf("no delivery to %s in %d deliveries", queue, len(m.Deliveries))
	return store.Delivery{}
}

// checkNoPassword fails when s holds the registry password.
func checkNoPassword(t testing.TB, what, s string) {
	t.Helper()
	if strings.Contains(s, iisPassword) || strings.Contains(s, "s3cr3t") {
		t.Errorf("%s contains the registry password", what)
	}
}

// TestIISDestinationSend drives iisDestination.Send against a real HTTPS
// registry: a reply is returned for the worker to classify, and each kind
// of failure gets the retry decision the worker dead-letters on.
func TestIISDestinationSend(t *testing.T) {
	fault := func(k soap.FaultKind) func(int, soap.SubmitRequest) ([]byte, error) {
		return func(int, soap.SubmitRequest) ([]byte, error) {
			// Registry free text echoing PHI: it must not reach the error.
			return nil, &soap.Fault{Kind: k, Code: "soap:Receiver", CDCCode: "401", Reason: "ZZTEST PAT123 20200101", Detail: "ZZTEST"}
		}
	}
	status := func(code int) func(int, soap.SubmitRequest) ([]byte, error) {
		return func(int, soap.SubmitRequest) ([]byte, error) { return nil, &soap.HTTPError{Status: code} }
	}
	tests := []struct {
		name      string
		answer    func(int, soap.SubmitRequest) ([]byte, error)
		payload   string
		untrusted bool // no ca_file: the test certificate does not verify
		wantCode  string
		wantRetry bool
		wantErr   func(error) bool
		wantCalls int32
	}{
		{name: "AA", answer: answerAll("AA", ""), wantCode: "AA", wantCalls: 1},
		{name: "AE is a reply, not an error", answer: answerAll("AE", "", hl7.ErrorDetail{Code: "103", Severity: 'E'}), wantCode: "AE", wantCalls: 1},
		{name: "SecurityFault", answer: fault(soap.FaultSecurity), wantCalls: 1,
			wantErr: func(err error) bool { var f *soap.Fault; return errors.As(err, &f) && f.Kind == soap.FaultSecurity }},
		{name: "MessageTooLargeFault", answer: fault(soap.FaultMessageTooLarge), wantCalls: 1,
			wantErr: func(err error) bool {
				var f *soap.Fault
				return errors.As(err, &f) && f.Kind == soap.FaultMessageTooLarge
			}},
		{name: "hub DestinationConnectionFault is passing: the queue retries", answer: fault(soap.FaultDestinationConnection), wantRetry: true, wantCalls: 1,
			wantErr: func(err error) bool { var f *soap.Fault; return errors.As(err, &f) }},
		{name: "HTTP 503 after the client's retries", answer: status(503), wantRetry: true, wantCalls: 2,
			wantErr: func(err error) bool { var te *soap.TransportError; return errors.As(err, &te) && te.HTTPStatus == 503 }},
		{name: "HTTP 429", answer: status(429), wantRetry: true, wantCalls: 2,
			wantErr: func(err error) bool { var te *soap.TransportError; return errors.As(err, &te) && te.HTTPStatus == 429 }},
		{name: "HTTP 400 is not retried", answer: status(400), wantCalls: 1,
			wantErr: func(err error) bool { var te *soap.TransportError; return errors.As(err, &te) && te.HTTPStatus == 400 }},
		{name: "HTTP 501 is not retried", answer: status(501), wantCalls: 1,
			wantErr: func(err error) bool { var te *soap.TransportError; return errors.As(err, &te) && te.HTTPStatus == 501 }},
		{name: "payload XML cannot carry", payload: strings.Replace(destCanaryVXU, "ZZTEST", "ZZ\x01TEST", 1), wantCalls: 0,
			wantErr: func(err error) bool { return errors.Is(err, soap.ErrInvalidChar) }},
		{name: "untrusted certificate", untrusted: true, wantCalls: 0,
			wantErr: func(err error) bool { var te *soap.TransportError; return errors.As(err, &te) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := &registry{answer: tc.answer}
			url, ca := tlsRegistry(t, reg)
			if tc.untrusted {
				ca = ""
			}
			d, err := buildDestination(iisDest("iis", url, ca, 1), destLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close(t.Context()) }()
			payload := tc.payload
			if payload == "" {
				payload = destCanaryVXU
			}
			reply, retry, err := d.Send(t.Context(), []byte(payload))
			if retry != tc.wantRetry {
				t.Errorf("retry = %v, want %v (err %v)", retry, tc.wantRetry, err)
			}
			if got := reg.calls.Load(); got != tc.wantCalls {
				t.Errorf("registry saw %d requests, want %d", got, tc.wantCalls)
			}
			assertErrNoCanary(t, err)
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(err) || reply != nil {
					t.Fatalf("err = %v (%T), reply %d bytes: not the expected error", err, err, len(reply))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if code, err := hl7.CheckACK(reply, "CANARY-0001"); err != nil || code != tc.wantCode {
				t.Errorf("reply MSA-1 %q (%v), want %s", code, err, tc.wantCode)
			}
			req := reg.requests()[0]
			if req.Username != iisUser || req.Password.Reveal() != iisPassword || req.FacilityID != iisFacility || string(req.Message) != destCanaryVXU {
				t.Errorf("registry got user %q facility %q, message intact %v, password intact %v",
					req.Username, req.FacilityID, string(req.Message) == destCanaryVXU, req.Password.Reveal() == iisPassword)
			}
		})
	}
}

// TestIISDestinationRefused: a peer that drops the connection is a
// transport failure the queue retries.
func TestIISDestinationRefused(t *testing.T) {
	d, err := buildDestination(iisDest("iis", "https://"+refusingAddr(t)+"/IISService", "", -1), destLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close(t.Context()) }()
	_, retry, err := d.Send(t.Context(), []byte(destCanaryVXU))
	if err == nil || !retry {
		t.Fatalf("retry %v err %v, want a retryable transport error", retry, err)
	}
	assertErrNoCanary(t, err)
}

// TestIISDeliveryVerdicts runs the engine against an HTTPS registry and
// checks the delivery status the worker records from each reply, with the
// destination's own classify rules.
func TestIISDeliveryVerdicts(t *testing.T) {
	warn := hl7.ErrorDetail{Code: "0", Severity: 'W', AppCode: "5", UserMessage: "informational only"}
	reject := hl7.ErrorDetail{Location: hl7.Location{Segment: "RXA", Seq: 1, Field: 5}, Code: "103", Severity: 'E', AppCode: "5", UserMessage: "vaccine code not recognized"}
	tests := []struct {
		name     string
		answer   func(int, soap.SubmitRequest) ([]byte, error)
		rules    iis.Rules
		want     store.Status
		ack      string
		codes    []string // ErrorCodes that must be present
		noReject bool     // ErrorCodes must hold no code at all
	}{
		{name: "AA", answer: answerAll("AA", ""), want: store.StatusAccepted, ack: "AA", noReject: true},
		{name: "AA with a W ERR", answer: answerAll("AA", "", warn), want: store.StatusAcceptedWithWarnings, ack: "AA"},
		{name: "AE with an E ERR", answer: answerAll("AE", "", reject), want: store.StatusRejected, ack: "AE", codes: []string{"0357:103", "0533:5"}},
		{name: "AA with RECORD REJECTED and the phrase set", answer: answerAll("AA", "RECORD REJECTED"),
			rules: iis.Rules{RejectPhrases: []string{"record rejected"}}, want: store.StatusRejected, ack: "AA"},
		{name: "AA with RECORD REJECTED and reject phrases off", answer: answerAll("AA", "RECORD REJECTED"),
			rules: iis.Rules{RejectPhrases: []string{}}, want: store.StatusAccepted, ack: "AA"},
		{name: "AA with a registry's own phrase set", answer: answerAll("AA", "RECORD IGNORED"),
			rules: iis.Rules{RejectPhrases: []string{"record ignored"}}, want: store.StatusRejected, ack: "AA"},
		{name: "AA with a registry's own phrase not set", answer: answerAll("AA", "RECORD IGNORED"),
			want: store.StatusAccepted, ack: "AA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := &registry{answer: tc.answer}
			url, ca := tlsRegistry(t, reg)
			dest := iisDest("iis", url, ca, 1)
			dest.IIS.Classify = tc.rules
			h := newHarness(t, Config{Channels: []ChannelConfig{mllpChannel("vxu", dest)}})
			send(t, h.addr("vxu"), vxu("CTL30", "PAT123"))
			d := deliveryTo(t, h.waitStatus("CTL30", tc.want), "vxu/iis")
			if d.Status != tc.want || d.ACKCode != tc.ack || d.Attempts != 1 || len(d.Response) == 0 || d.LastError != "" {
				t.Errorf("delivery %s ack %q attempts %d error %q, want %s %s after 1 attempt", d.Status, d.ACKCode, d.Attempts, d.LastError, tc.want, tc.ack)
			}
			for _, c := range tc.codes {
				if !strings.Contains(" "+strings.Join(d.ErrorCodes, " ")+" ", " "+c+" ") {
					t.Errorf("error codes %v lack %s", d.ErrorCodes, c)
				}
			}
			if tc.noReject && len(d.ErrorCodes) != 0 {
				t.Errorf("error codes %v, want none", d.ErrorCodes)
			}
			if n := reg.calls.Load(); n != 1 { // a verdict, even a rejection, is final
				t.Errorf("registry saw %d requests, want 1", n)
			}
		})
	}
}

// TestIISDeliveryFailures checks what the queue does with each failure:
// a SOAP fault and an untrusted certificate are dead-lettered at once, an
// HTTP 503 is retried until the registry answers.
func TestIISDeliveryFailures(t *testing.T) {
	tests := []struct {
		name         string
		answer       func(int, soap.SubmitRequest) ([]byte, error)
		retries      int  // the SOAP client's max_retries
		untrusted    bool // the destination does not trust the registry's certificate
		want         store.Status
		wantAttempts int   // queue attempts recorded
		wantCalls    int32 // requests that reached the registry
		wantErr      string
	}{
		{name: "SecurityFault dead-letters after one request",
			answer: func(int, soap.SubmitRequest) ([]byte, error) {
				return nil, &soap.Fault{Kind: soap.FaultSecurity, Code: "soap:Receiver", CDCCode: "401", Reason: "ZZTEST PAT123 wrong password", Detail: "PAT123"}
			},
			retries: 3, want: store.StatusDeadLettered, wantAttempts: 1, wantCalls: 1, wantErr: "SecurityFault"},
		{name: "503 then AA, retried by the SOAP client",
			answer: func(n int, req soap.SubmitRequest) ([]byte, error) {
				if n == 1 {
					return nil, &soap.HTTPError{Status: http.StatusServiceUnavailable}
				}
				return registryACK(req.Message, "AA", "")
			},
			retries: 1, want: store.StatusAccepted, wantAttempts: 1, wantCalls: 2},
		{name: "503 then AA, retried by the queue",
			answer: func(n int, req soap.SubmitRequest) ([]byte, error) {
				if n == 1 {
					return nil, &soap.HTTPError{Status: http.StatusServiceUnavailable}
				}
				return registryACK(req.Message, "AA", "")
			},
			retries: -1, want: store.StatusAccepted, wantAttempts: 2, wantCalls: 2},
		{name: "untrusted certificate dead-letters at once",
			untrusted: true, retries: 3, want: store.StatusDeadLettered, wantAttempts: 1, wantCalls: 0, wantErr: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := &registry{answer: tc.answer}
			url, ca := tlsRegistry(t, reg)
			if tc.untrusted {
				ca = ""
			}
			ch := mllpChannel("vxu", iisDest("iis", url, ca, tc.retries))
			ch.Retry.MaxAttempts = 5
			h := newHarness(t, Config{Channels: []ChannelConfig{ch}})
			send(t, h.addr("vxu"), vxu("CTL31", "PAT123"))
			d := deliveryTo(t, h.waitStatus("CTL31", tc.want), "vxu/iis")
			if d.Attempts != tc.wantAttempts {
				t.Errorf("%d queue attempts, want %d (error %q)", d.Attempts, tc.wantAttempts, d.LastError)
			}
			if tc.wantErr != "" && !strings.Contains(d.LastError, tc.wantErr) {
				t.Errorf("last error %q does not mention %s", d.LastError, tc.wantErr)
			}
			if tc.wantErr == "" && d.LastError != "" {
				t.Errorf("last error %q after success", d.LastError)
			}
			phitest.Check(t, "last error", d.LastError)
			checkNoPassword(t, "last error", d.LastError)
			if tc.want == store.StatusDeadLettered {
				// Nothing more is sent: give the worker time to misbehave.
				time.Sleep(100 * time.Millisecond)
				if m := h.find("CTL31"); deliveryTo(t, m, "vxu/iis").Attempts != tc.wantAttempts {
					t.Errorf("attempts grew after the dead letter")
				}
				ehrtest.WaitFor(t, func() bool { return strings.Contains(h.logs.String(), `"dead-lettered"`) }, "dead letter logged")
			}
			if n := reg.calls.Load(); n != tc.wantCalls {
				t.Errorf("registry saw %d requests, want %d", n, tc.wantCalls)
			}
			checkNoPassword(t, "log output", h.logs.String())
		})
	}
}

// TestIISReturnChannel: the EHR gets the registry's ACK re-addressed to its
// own message, and an AE naming the failure (never the password) when the
// delivery is dead-lettered.
func TestIISReturnChannel(t *testing.T) {
	reject := hl7.ErrorDetail{Location: hl7.Location{Segment: "RXA", Seq: 1, Field: 5}, Code: "103", Severity: 'E', AppCode: "5", UserMessage: "vaccine code not recognized"}
	reg := &registry{answer: func(_ int, req soap.SubmitRequest) ([]byte, error) {
		m, err := hl7.Parse(req.Message)
		if err != nil {
			return nil, err
		}
		if m.ControlID() == "CTL41" {
			return nil, &soap.Fault{Kind: soap.FaultSecurity, Code: "soap:Receiver", CDCCode: "401", Reason: "ZZTEST locked"}
		}
		return registryACK(req.Message, "AE", "", reject)
	}}
	url, ca := tlsRegistry(t, reg)
	ehr, returned := startEHR(t)
	ch := mllpChannel("vxu", iisDest("iis", url, ca, 1))
	ch.Return = &ReturnConfig{MLLP: *mllpDest("", ehr.addr).MLLP}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})

	t.Run("registry ACK re-addressed", func(t *testing.T) {
		send(t, h.addr("vxu"), vxu("CTL40", "PAT123"))
		var r *hl7.Message
		select {
		case r = <-returned:
		case <-time.After(15 * time.Second):
			t.Fatal("no return")
		}
		for _, c := range []struct{ path, want string }{
			{"MSA-1", "AE"}, {"MSA-2", "CTL40"}, {"ERR-3.1", "103"}, {"ERR-4", "E"},
			{"MSH-3", "IIS"}, {"MSH-4", "STATE"}, {"MSH-5", "EHR"}, {"MSH-6", "CLINIC"},
		} {
			if got := r.Value(c.path); got != c.want {
				t.Errorf("return %s = %q, want %q", c.path, got, c.want)
			}
		}
		m := h.waitStatus("CTL40", store.StatusRejected)
		if d := deliveryTo(t, m, "vxu/iis"); d.Status != store.StatusRejected || !strings.Contains(strings.Join(d.ErrorCodes, " "), "0357:103") {
			t.Errorf("delivery %s codes %v", d.Status, d.ErrorCodes)
		}
	})
	t.Run("fault dead-lettered and told", func(t *testing.T) {
		send(t, h.addr("vxu"), vxu("CTL41", "PAT123"))
		var r *hl7.Message
		select {
		case r = <-returned:
		case <-time.After(15 * time.Second):
			t.Fatal("no return")
		}
		if r.Value("MSA-1") != "AE" || r.Value("MSA-2") != "CTL41" || r.Value("ERR-3.1") != "207" ||
			!strings.Contains(r.Value("ERR-8"), "not delivered to iis") || !strings.Contains(r.Value("ERR-8"), "SecurityFault") {
			t.Errorf("return MSA %s %s ERR %s %q", r.Value("MSA-1"), r.Value("MSA-2"), r.Value("ERR-3.1"), r.Value("ERR-8"))
		}
		checkNoPassword(t, "return message", string(r.Raw()))
		phitest.Check(t, "return ERR-8", r.Value("ERR-8"))
		h.waitStatus("CTL41", store.StatusDeadLettered)
	})
	checkNoPassword(t, "log output", h.logs.String())
}

// TestIISPing covers Engine.Ping and PingDestination: the registry's echo,
// its fault, and the destinations that cannot be pinged.
func TestIISPing(t *testing.T) {
	reg := &registry{}
	url, ca := tlsRegistry(t, reg)
	ch := mllpChannel("vxu", iisDest("iis", url, ca, 1), mllpDest("mllp", refusingAddr(t)),
		DestinationConfig{Name: "file", File: &FileDestinationConfig{Dir: t.TempDir()}})
	ch.Return = &ReturnConfig{MLLP: *mllpDest("", refusingAddr(t)).MLLP}
	h := newHarness(t, Config{Channels: []ChannelConfig{ch}})

	tests := []struct {
		name, channel, dest, echo string
		want                      string // the echo; "" when an error is expected
		check                     func(error) bool
	}{
		{"iis echoes", "vxu", "iis", "hello registry", "echo: hello registry", nil},
		{"iis fault", "vxu", "iis", "fault please", "",
			func(err error) bool { var f *soap.Fault; return errors.As(err, &f) && f.Kind == soap.FaultSecurity }},
		{"mllp cannot ping", "vxu", "mllp", "x", "", func(err error) bool { return errors.Is(err, ErrNoPing) }},
		{"file cannot ping", "vxu", "file", "x", "", func(err error) bool { return errors.Is(err, ErrNoPing) }},
		{"unknown destination", "vxu", "nope", "x", "", func(err error) bool { return errors.Is(err, ErrNoDestination) }},
		{"unknown channel", "other", "iis", "x", "", func(err error) bool { return errors.Is(err, ErrNoDestination) }},
		{"the return queue", "vxu", "return", "x", "", func(err error) bool { return errors.Is(err, ErrNoDestination) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.e.Ping(t.Context(), tc.channel, tc.dest, tc.echo)
			if tc.check == nil {
				if err != nil || got != tc.want {
					t.Fatalf("Ping = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || !tc.check(err) {
				t.Fatalf("Ping = %q, %v (%T): not the expected error", got, err, err)
			}
			assertErrNoCanary(t, err)
		})
	}
	if n := reg.calls.Load(); n != 0 {
		t.Errorf("a ping submitted %d messages", n)
	}

	t.Run("PingDestination", func(t *testing.T) {
		got, err := PingDestination(t.Context(), iisDest("iis", url, ca, 1), "standalone")
		if err != nil || got != "echo: standalone" {
			t.Fatalf("PingDestination = %q, %v", got, err)
		}
		_, err = PingDestination(t.Context(), iisDest("iis", url, "", 1), "untrusted")
		var te *soap.TransportError
		if !errors.As(err, &te) {
			t.Errorf("untrusted: err %v (%T), want a *soap.TransportError", err, err)
		}
		assertErrNoCanary(t, err)
		if _, err := PingDestination(t.Context(), DestinationConfig{Name: "f", File: &FileDestinationConfig{Dir: t.TempDir()}}, "x"); !errors.Is(err, ErrNoPing) {
			t.Errorf("file destination: %v, want ErrNoPing", err)
		}
		if _, err := PingDestination(t.Context(), DestinationConfig{Name: "none"}, "x"); !errors.Is(err, ErrNoDestinationKind) {
			t.Errorf("no kind: %v, want ErrNoDestinationKind", err)
		}
		bad := iisDest("iis", "ftp://registry.example.org/", "", 1)
		if _, err := PingDestination(t.Context(), bad, "x"); err == nil {
			t.Error("bad url: no error")
		}
	})
	if n := reg.pings.Load(); n != 3 { // echo, fault, standalone; the untrusted one never got through
		t.Errorf("registry saw %d pings, want 3", n)
	}
}

// TestIISAttemptTimeout: one queue attempt outlasts every HTTP attempt and
// backoff the SOAP client may make inside it.
func TestIISAttemptTimeout(t *testing.T) {
	tests := []struct {
		name string
		c    soap.ClientConfig
		want time.Duration
	}{
		{"explicit", soap.ClientConfig{Timeout: 2 * time.Second, MaxRetries: 2, RetryWaitMax: time.Second}, 2*3*time.Second + 2*time.Second + 5*time.Second},
		{"no retries", soap.ClientConfig{Timeout: 2 * time.Second, MaxRetries: -1}, 7 * time.Second},
		{"client defaults", soap.ClientConfig{}, soap.DefaultTimeout*(soap.DefaultMaxRetries+1) + soap.DefaultRetryWaitMax*soap.DefaultMaxRetries + 5*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := attemptTimeout(DestinationConfig{IIS: &IISDestinationConfig{ClientConfig: tc.c}}); got != tc.want {
				t.Errorf("attemptTimeout = %s, want %s", got, tc.want)
			}
		})
	}
	// The channel defaults (max_retries 2, retry_wait_max 10s) apply before.
	ch := mllpChannel("vxu", DestinationConfig{Name: "iis", IIS: &IISDestinationConfig{}}).WithDefaults()
	if got, want := attemptTimeout(ch.Destinations[0]), soap.DefaultTimeout*3+defaultIISRetryWaitMax*2+5*time.Second; got != want {
		t.Errorf("with channel defaults: %s, want %s", got, want)
	}
}

// TestIISConfigNoPassword: printing the destination config never shows
// the password.
func TestIISConfigNoPassword(t *testing.T) {
	d := iisDest("iis", "https://iis.example.org/", "", 1)
	s := fmt.Sprintf("%v %+v %#v %v %+v", d, d, d, *d.IIS, *d.IIS)
	checkNoPassword(t, "config print", s)
	built, err := buildDestination(d, destLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = built.Close(t.Context()) }()
	checkNoPassword(t, "destination print", fmt.Sprintf("%v %+v %#v", built, built, built))
}
