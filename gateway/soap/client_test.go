package soap

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/mllp/mllptest"
)

// TestRoundTrip submits through our Client to our NewServer in every
// profile and checks both ends: the server gets the HL7 byte for byte
// (CRs included, escapes undone) with the credentials, version and
// variant, and the client gets the ACK back normalised.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		profile Profile
		wsdl    string
		version Version
	}{
		{"2011 soap12", Profile{}, WSDL2011, SOAP12},
		{"2011 soap11", Profile{Version: SOAP11}, WSDL2011, SOAP11},
		{"2014 soap12", Profile{WSDL: WSDL2014}, WSDL2014, SOAP12},
		{"2014 soap11", Profile{WSDL: WSDL2014, Version: SOAP11}, WSDL2014, SOAP11},
		{"hub soap12", Profile{WSDL: WSDLHub, HubDestinationID: "dev_MN", HubDestinationURI: "https://iis.example/ws"}, WSDLHub, SOAP12},
		{"hub soap11", Profile{WSDL: WSDLHub, Version: SOAP11, HubDestinationID: "dev_MN"}, WSDLHub, SOAP11},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &iis{}
			srv := serve(t, NewServer(h, ServerOptions{}))
			cfg := baseConfig(srv.URL + "/IISService")
			cfg.Profile = tc.profile
			c := newClient(t, cfg)
			msg := vxu("RT-" + strings.ReplaceAll(tc.name, " ", ""))
			rep, err := c.Submit(t.Context(), msg)
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			got := h.last(t)
			if !bytes.Equal(got.Message, msg) {
				t.Errorf("server got message %q, want %q", got.Message, msg)
			}
			if got.Username != testUser || got.Password.Reveal() != canaryPassword || got.FacilityID != testFacility {
				t.Errorf("server got credentials %q/%q/%q", got.Username, got.Password.Reveal(), got.FacilityID)
			}
			if got.Version != tc.version || got.WSDL != tc.wsdl {
				t.Errorf("server saw version %v wsdl %q, want %v %q", got.Version, got.WSDL, tc.version, tc.wsdl)
			}
			if got.DestinationID != tc.profile.HubDestinationID {
				t.Errorf("server saw destination %q, want %q", got.DestinationID, tc.profile.HubDestinationID)
			}
			if want := ackFor(msg, "AA"); !bytes.Equal(rep.Message, want) {
				t.Errorf("reply %q, want %q", rep.Message, want)
			}
			if rep.Attempts != 1 || rep.HTTPStatus != 200 || rep.Duration <= 0 {
				t.Errorf("reply attempts %d status %d duration %v", rep.Attempts, rep.HTTPStatus, rep.Duration)
			}
			echo := "Hello <world> & \"all\"\r\nline2\ttab"
			back, err := c.ConnectivityTest(t.Context(), echo)
			if err != nil || back != echo {
				t.Errorf("ConnectivityTest = %q, %v; want %q", back, err, echo)
			}
		})
	}
}

// TestRequestWire checks what goes on the wire: the content type and
// SOAPAction of each version, and CR written as &#xD;.
func TestRequestWire(t *testing.T) {
	tests := []struct {
		name       string
		profile    Profile
		wantCT     string
		wantAction string
		wantParts  []string
	}{
		{"2011 soap12", Profile{}, `application/soap+xml; charset=utf-8; action="urn:cdc:iisb:2011:submitSingleMessage"`, "",
			[]string{`xmlns:soap="http://www.w3.org/2003/05/soap-envelope"`, `<iis:submitSingleMessage>`, `<iis:hl7Message>MSH|^~\&amp;|EHR`, `&#xD;PID|1|`, `1 &lt;TEST&gt; ST &amp; SONS`}},
		{"2011 soap11", Profile{Version: SOAP11}, "text/xml; charset=utf-8", `"urn:cdc:iisb:2011:submitSingleMessage"`,
			[]string{`xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"`, `<iis:facilityID>FAC-01</iis:facilityID>`}},
		{"2014", Profile{WSDL: WSDL2014}, `application/soap+xml; charset=utf-8; action="urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageRequest"`, "",
			[]string{`<wsa:Action>urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageRequest</wsa:Action>`, `<wsa:MessageID>urn:uuid:`, `<wsa:To>http://`, `<iis:SubmitSingleMessageRequest>`, `<iis:Hl7Message>`}},
		{"hub", Profile{WSDL: WSDLHub, HubDestinationID: "dev_MN"}, `application/soap+xml; charset=utf-8; action="urn:cdc:iisb:hub:2014:IISHubPortType:SubmitSingleMessageRequest"`, "",
			[]string{`<hub:HubRequestHeader><hub:DestinationId>dev_MN</hub:DestinationId></hub:HubRequestHeader>`, `xmlns:iis="urn:cdc:iisb:2014"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ct, action string
			var body []byte
			inner := NewServer(&iis{}, ServerOptions{})
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ct, action = r.Header.Get("Content-Type"), r.Header.Get("SOAPAction")
				body, _ = io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				inner.ServeHTTP(w, r)
			}))
			cfg := baseConfig(srv.URL)
			cfg.Profile = tc.profile
			if _, err := newClient(t, cfg).Submit(t.Context(), vxu("W1")); err != nil {
				t.Fatal(err)
			}
			if ct != tc.wantCT || action != tc.wantAction {
				t.Errorf("Content-Type %q SOAPAction %q, want %q %q", ct, action, tc.wantCT, tc.wantAction)
			}
			for _, p := range tc.wantParts {
				if !bytes.Contains(body, []byte(p)) {
					t.Errorf("request lacks %q:\n%s", p, body)
				}
			}
			if bytes.ContainsRune(body, '\r') {
				t.Error("request holds a raw CR")
			}
		})
	}
}

// TestLenientReplies serves each canned reply envelope in testdata and
// checks what Submit makes of it.
func TestLenientReplies(t *testing.T) {
	const ack = "MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101120001||ACK^V04^ACK|ACKX1|P|2.5.1\rMSA|AA|X1\r"
	tests := []struct {
		file string
		ct   string
		want string
	}{
		{"reply_cr_escaped.xml", "", ack},
		{"reply_lf.xml", "", ack},
		{"reply_crlf.xml", "", ack},
		{"reply_cdata.xml", "", ack},
		{"reply_cdata_indented.xml", "", ack},
		{"reply_base64.xml", "", ack},
		{"reply_base64_wrapped.xml", "", ack},
		{"reply_urlencoded.xml", "", ack},
		{"reply_prefixes.xml", "", ack},
		{"reply_default_ns.xml", "", ack},
		{"reply_soap11.xml", "text/xml", ack},
		{"reply_mistakes.xml", "", ack},
		{"reply_badxml.xml", "", ack},
		{"reply_additional_tag.xml", "", ack},
		{"reply_2014.xml", "", ack},
		{"reply_hub.xml", "", ack},
		{"reply_latin1.xml", "", "MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101120001||ACK^V04^ACK|ACKX1|P|2.5.1\rMSA|AE|X1|Peña\r"},
		{"reply_mtom.txt", `multipart/related; type="application/xop+xml"; boundary="uuid:8a1f"; start="<root.message@cxf.apache.org>"`, ack},
		{"reply_empty_return.xml", "", ""},
		{"reply_plain_text.xml", "", "SUCCESS"},
		{"nist_submit_response.xml", "", "MSH|^~|&|IISSUT|IISSUT|NISTEHR||<date/timeMSG>||ACK^V04^ACK|<msgControlID>|P|2.5.1|||NE\r"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := readTestdata(t, tc.file)
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ct := tc.ct
				if ct == "" {
					ct = "application/soap+xml; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				_, _ = w.Write(body)
			}))
			rep, err := newClient(t, baseConfig(srv.URL)).Submit(t.Context(), vxu("X1"))
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if string(rep.Message) != tc.want {
				t.Errorf("reply %q, want %q", rep.Message, tc.want)
			}
		})
	}
}

// TestFaultKinds checks that each fault arrives typed, from our server in
// every variant and from canned envelopes (NIST, IZ Gateway, SOAP 1.1).
func TestFaultKinds(t *testing.T) {
	kinds := []FaultKind{FaultSecurity, FaultMessageTooLarge, FaultUnsupportedOperation, FaultUnknown, FaultOther}
	for _, wsdl := range []string{WSDL2011, WSDL2014, WSDLHub} {
		for _, ver := range []Version{SOAP12, SOAP11} {
			for _, kind := range kinds {
				name := fmt.Sprintf("%s/%v/%s", wsdl, ver, kind)
				t.Run(name, func(t *testing.T) {
					want := &Fault{Kind: kind, Code: "soap:Receiver", Reason: "ZZTEST reason", CDCCode: "401",
						CDCReason: "Why", Detail: "Detail about PAT123", HTTPStatus: 500}
					h := &iis{fail: func(SubmitRequest) error { f := *want; return &f }}
					srv := serve(t, NewServer(h, ServerOptions{}))
					cfg := baseConfig(srv.URL)
					cfg.Profile = Profile{WSDL: wsdl, Version: ver}
					if wsdl == WSDLHub {
						cfg.Profile.HubDestinationID = "dev"
					}
					_, err := newClient(t, cfg).Submit(t.Context(), vxu("F1"))
					f := asFault(t, err)
					wantCode := "soap:Receiver"
					if ver == SOAP11 {
						wantCode = "soap:Server"
					}
					if f.Kind != kind || f.Code != wantCode || f.Reason != want.Reason || f.HTTPStatus != 500 {
						t.Errorf("got %+v", *f)
					}
					if kind != FaultOther && (f.CDCCode != "401" || f.CDCReason != "Why" || f.Detail != want.Detail) {
						t.Errorf("CDC fields %q %q %q", f.CDCCode, f.CDCReason, f.Detail)
					}
					if f.Retryable() {
						t.Error("a fault must not be retryable")
					}
					if h.calls.Load() != 1 {
						t.Errorf("server called %d times, want 1", h.calls.Load())
					}
					noLeak(t, name, err, vxu("F1"))
				})
			}
		}
	}
	canned := []struct {
		file      string
		kind      FaultKind
		code      string
		cdc       string
		detailHas string
	}{
		{"nist_security_fault.xml", FaultSecurity, "Sender", "10", "Invalid Username or Password"},
		{"nist_toolarge_fault.xml", FaultMessageTooLarge, "Sender", "1313", "one and only one HL7 message"},
		{"nist_toolarge_fault_nons.xml", FaultMessageTooLarge, "Receiver", "1313", "one and only one HL7 message"},
		{"nist_unsupported_fault.xml", FaultUnsupportedOperation, "Sender", "8675309", "not supported"},
		{"nist_unknown_fault.xml", FaultUnknown, "Sender", "54353", "unexpected problem"},
		{"fault_peer_security.xml", FaultSecurity, "soap:Receiver", "401", "Invalid Username"},
		{"fault_soap11.xml", FaultSecurity, "soapenv:Server", "10", "Bad password"},
		{"fault_izgw_2014.xml", FaultMessageTooLarge, "soap:Receiver", "", "too large"},
		{"fault_hub_destination.xml", FaultUnknownDestination, "soap:Sender", "", "Unknown destination"},
		{"fault_plain.xml", FaultOther, "soap:Receiver", "", "java.lang.NullPointerException"},
	}
	for _, tc := range canned {
		t.Run(tc.file, func(t *testing.T) {
			body := readTestdata(t, tc.file)
			var n atomic.Int32
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Header().Set("Content-Type", "application/soap+xml")
				w.WriteHeader(500)
				_, _ = w.Write(body)
			}))
			_, err := newClient(t, baseConfig(srv.URL)).Submit(t.Context(), vxu("F2"))
			f := asFault(t, err)
			if f.Kind != tc.kind || f.Code != tc.code || f.CDCCode != tc.cdc || !strings.Contains(f.Detail, tc.detailHas) {
				t.Errorf("got %+v", *f)
			}
			if n.Load() != 1 {
				t.Errorf("%d attempts for a fault, want 1", n.Load())
			}
		})
	}
}

func TestFaultError(t *testing.T) {
	tests := []struct {
		f    Fault
		want string
	}{
		{Fault{Kind: FaultSecurity, Code: "soap:Receiver", CDCCode: "401", Reason: "ZZTEST", Detail: "PAT123"}, "soap: SecurityFault (soap:Receiver, code 401)"},
		{Fault{Kind: FaultOther, Code: "env:Server"}, "soap: Fault (env:Server)"},
		{Fault{Kind: FaultUnknown, CDCCode: "500"}, "soap: UnknownFault (code 500)"},
		{Fault{}, "soap: Fault"},
		{Fault{Kind: FaultMessageTooLarge, Code: "ZZTEST smuggled text", CDCCode: "PAT123"}, "soap: MessageTooLargeFault"},
	}
	for _, tc := range tests {
		if got := tc.f.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestRetryPolicy counts the attempts a server sees for each kind of
// answer.
func TestRetryPolicy(t *testing.T) {
	soapFault := readTestdata(t, "fault_peer_security.xml")
	unknownFault := readTestdata(t, "nist_unknown_fault.xml")
	okReply := readTestdata(t, "reply_cr_escaped.xml")
	type answer func(w http.ResponseWriter, r *http.Request, n int32)
	failFirst := func(k int32, fail answer) answer {
		return func(w http.ResponseWriter, r *http.Request, n int32) {
			if n <= k {
				fail(w, r, n)
				return
			}
			_, _ = w.Write(okReply)
		}
	}
	status := func(code int, body []byte, hdr ...string) answer {
		return func(w http.ResponseWriter, _ *http.Request, _ int32) {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(code)
			_, _ = w.Write(body)
		}
	}
	hangup := func(w http.ResponseWriter, _ *http.Request, _ int32) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	stall := func(w http.ResponseWriter, r *http.Request, _ int32) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}
	html := []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
	tests := []struct {
		name       string
		answer     answer
		maxRetries int
		timeout    time.Duration
		wantN      int32 // attempts the server sees
		wantOK     bool
		wantFault  FaultKind
		wantStatus int // TransportError.HTTPStatus
	}{
		{"503 then ok", failFirst(2, status(503, []byte("busy"), "Retry-After", "0")), 3, 0, 3, true, "", 0},
		{"429 then ok", failFirst(1, status(429, nil, "Retry-After", "0")), 3, 0, 2, true, "", 0},
		{"500 without fault retried", status(500, html), 2, 0, 3, false, "", 500},
		{"502 html then ok", failFirst(1, status(502, html)), 3, 0, 2, true, "", 0},
		{"500 with fault not retried", status(500, unknownFault), 3, 0, 1, false, FaultUnknown, 0},
		{"security fault never retried", status(500, soapFault), 3, 0, 1, false, FaultSecurity, 0},
		{"fault on 503 not retried", status(503, soapFault), 3, 0, 1, false, FaultSecurity, 0},
		{"400 not retried", status(400, html), 3, 0, 1, false, "", 400},
		{"404 not retried", status(404, nil), 3, 0, 1, false, "", 404},
		{"501 not retried", status(501, nil), 3, 0, 1, false, "", 501},
		{"redirect not followed", status(302, nil, "Location", "http://127.0.0.1:1/x"), 3, 0, 1, false, "", 302},
		{"200 garbage not retried", status(200, []byte("not xml at all")), 3, 0, 1, false, "", 200},
		{"hang-up retried", failFirst(1, hangup), 3, 0, 2, true, "", 0},
		{"timeout retried", failFirst(1, stall), 3, 300 * time.Millisecond, 2, true, "", 0},
		{"max retries respected", status(503, nil), 2, 0, 3, false, "", 503},
		{"no retries", status(503, nil), -1, 0, 1, false, "", 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				tc.answer(w, r, n.Add(1))
			}))
			cfg := baseConfig(srv.URL)
			cfg.MaxRetries = tc.maxRetries
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			msg := vxu("R1")
			rep, err := newClient(t, cfg).Submit(t.Context(), msg)
			if got := n.Load(); got != tc.wantN {
				t.Errorf("server saw %d attempts, want %d", got, tc.wantN)
			}
			noLeak(t, tc.name, err, msg)
			switch {
			case tc.wantOK:
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
				if rep.Attempts != int(tc.wantN) {
					t.Errorf("Reply.Attempts %d, want %d", rep.Attempts, tc.wantN)
				}
			case tc.wantFault != "":
				if f := asFault(t, err); f.Kind != tc.wantFault {
					t.Errorf("fault kind %s, want %s", f.Kind, tc.wantFault)
				}
			default:
				te := asTransport(t, err)
				if te.HTTPStatus != tc.wantStatus || te.Attempts != int(tc.wantN) {
					t.Errorf("TransportError status %d attempts %d, want %d %d (%v)", te.HTTPStatus, te.Attempts, tc.wantStatus, tc.wantN, err)
				}
			}
		})
	}
}

// TestRetryAfterHonoured: a 503 with Retry-After: 1 makes the client wait
// about a second (RetryWaitMax is larger), and RetryWaitMax caps it.
func TestRetryAfterHonoured(t *testing.T) {
	var n atomic.Int32
	ok := readTestdata(t, "reply_cr_escaped.xml")
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write(ok)
	}))
	for _, tc := range []struct {
		name     string
		waitMax  time.Duration
		min, max time.Duration
	}{
		{"honoured", 5 * time.Second, 900 * time.Millisecond, 4 * time.Second},
		{"capped", 50 * time.Millisecond, 0, 700 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.Store(0)
			cfg := baseConfig(srv.URL)
			cfg.RetryWaitMax = tc.waitMax
			start := time.Now()
			rep, err := newClient(t, cfg).Submit(t.Context(), vxu("RA"))
			el := time.Since(start)
			if err != nil || rep.Attempts != 2 {
				t.Fatalf("Submit: %v %+v", err, rep)
			}
			if el < tc.min || el > tc.max {
				t.Errorf("took %v, want %v..%v", el, tc.min, tc.max)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Wed, 01 Jan 2025 12:00:10 GMT", 10 * time.Second, true},
		{"Wed, 01 Jan 2025 11:00:00 GMT", 0, true},
		{"99999999", 24 * time.Hour, true},
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for attempt := range 8 {
		ceil := min(lo<<attempt, hi)
		for range 50 {
			d := backoff(lo, hi, attempt, nil)
			if d < lo || d > ceil || d < ceil/2 {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, max(lo, ceil/2), ceil)
			}
		}
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"120"}}}
	if d := backoff(lo, hi, 0, resp); d != hi {
		t.Errorf("Retry-After 120 with max 1s: %v, want %v", d, hi)
	}
	resp.Header.Set("Retry-After", "0")
	if d := backoff(lo, hi, 0, resp); d != 0 {
		t.Errorf("Retry-After 0: %v", d)
	}
	resp.StatusCode = 500 // Retry-After only counts on 429 and 503
	if d := backoff(lo, hi, 0, resp); d < lo/2 || d > lo {
		t.Errorf("500 with Retry-After: %v", d)
	}
}

// TestContextCancelStopsRetries: cancelling ctx ends a call that would
// otherwise retry for long.
func TestContextCancelStopsRetries(t *testing.T) {
	var n atomic.Int32
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(503)
	}))
	cfg := baseConfig(srv.URL)
	cfg.MaxRetries = 100
	cfg.RetryWaitMin, cfg.RetryWaitMax = 50*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(t, cfg).Submit(ctx, vxu("C1"))
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Submit returned after %v", el)
	}
	te := asTransport(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if got := n.Load(); got < 2 || got > 20 || te.Attempts != int(got) {
		t.Errorf("server saw %d attempts, error says %d", got, te.Attempts)
	}
	// A context already cancelled makes at most one attempt.
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	n.Store(0)
	_, err = newClient(t, cfg).Submit(ctx2, vxu("C2"))
	if !errors.Is(err, context.Canceled) || n.Load() > 1 {
		t.Errorf("cancelled context: %v after %d attempts", err, n.Load())
	}
}

// TestConnectionRefused: refused connections are retried, then reported
// with no HTTP status.
func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cfg := baseConfig("http://" + addr + "/IISService?token=SECRET-QUERY")
	cfg.MaxRetries = 2
	_, err = newClient(t, cfg).Submit(t.Context(), vxu("CR"))
	te := asTransport(t, err)
	if te.Attempts != 3 || te.HTTPStatus != 0 || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("got %v (attempts %d)", err, te.Attempts)
	}
	if strings.Contains(err.Error(), "SECRET-QUERY") {
		t.Errorf("the error shows the URL query: %v", err)
	}
	noLeak(t, "refused", err, vxu("CR"))
}

func TestResponseTooLarge(t *testing.T) {
	var n atomic.Int32
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		_, _ = w.Write([]byte("<Envelope><Body><r><return>"))
		for range 17 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	_, err := newClient(t, baseConfig(srv.URL)).Submit(t.Context(), vxu("TL"))
	if !errors.Is(err, ErrResponseTooLarge) || n.Load() != 1 {
		t.Errorf("got %v after %d attempts", err, n.Load())
	}
}

// TestInvalidPayload: what XML cannot carry is refused before sending.
func TestInvalidPayload(t *testing.T) {
	h := &iis{}
	srv := serve(t, NewServer(h, ServerOptions{}))
	c := newClient(t, baseConfig(srv.URL))
	for _, p := range [][]byte{[]byte("MSH|^~\\&|A\x0bB\r"), []byte("MSH|^~\\&|\xff\xfe\r")} {
		_, err := c.Submit(t.Context(), p)
		if !errors.Is(err, ErrInvalidChar) {
			t.Errorf("Submit(%q) = %v, want ErrInvalidChar", p, err)
		}
	}
	if h.calls.Load() != 0 {
		t.Error("an invalid payload reached the server")
	}
}

// TestTLS covers server verification, mutual TLS and the TLS 1.2 floor.
func TestTLS(t *testing.T) {
	pki := mllptest.NewPKI(t)
	serverCert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	start := func(t *testing.T, tc *tls.Config) (*httptest.Server, *counting) {
		h := &counting{h: NewServer(&iis{}, ServerOptions{})}
		s := httptest.NewUnstartedServer(h)
		s.Config.ErrorLog = quietLog()
		s.TLS = tc
		s.StartTLS()
		t.Cleanup(s.Close)
		return s, h
	}
	t.Run("verified", func(t *testing.T) {
		s, _ := start(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
		cfg := baseConfig(s.URL)
		cfg.CAFile = pki.CAFile
		c := newClient(t, cfg)
		if c.tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
			t.Errorf("MinVersion %x", c.tr.TLSClientConfig.MinVersion)
		}
		if _, err := c.Submit(t.Context(), vxu("T1")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("localhost name", func(t *testing.T) {
		s, _ := start(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
		cfg := baseConfig(strings.Replace(s.URL, "127.0.0.1", "localhost", 1))
		cfg.CAFile = pki.CAFile
		cfg.ServerName = "localhost"
		if _, err := newClient(t, cfg).Submit(t.Context(), vxu("T1")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted not retried", func(t *testing.T) {
		s, h := start(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
		cfg := baseConfig(s.URL) // system roots: our CA is unknown
		cfg.MaxRetries = 3
		_, err := newClient(t, cfg).Submit(t.Context(), vxu("T2"))
		te := asTransport(t, err)
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) || te.Attempts != 1 || h.n.Load() != 0 {
			t.Errorf("got %v after %d attempts (server saw %d)", err, te.Attempts, h.n.Load())
		}
	})
	t.Run("wrong server name not retried", func(t *testing.T) {
		s, _ := start(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
		cfg := baseConfig(s.URL)
		cfg.CAFile = pki.CAFile
		cfg.ServerName = "registry.example"
		_, err := newClient(t, cfg).Submit(t.Context(), vxu("T3"))
		if te := asTransport(t, err); te.Attempts != 1 {
			t.Errorf("got %v after %d attempts", err, te.Attempts)
		}
	})
	mtls := &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	t.Run("mtls", func(t *testing.T) {
		s, _ := start(t, mtls)
		cfg := baseConfig(s.URL)
		cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.CAFile, pki.ClientCert, pki.ClientKey
		if _, err := newClient(t, cfg).Submit(t.Context(), vxu("T4")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("mtls without client cert", func(t *testing.T) {
		s, h := start(t, mtls)
		cfg := baseConfig(s.URL)
		cfg.CAFile = pki.CAFile
		cfg.MaxRetries = 1
		_, err := newClient(t, cfg).Submit(t.Context(), vxu("T5"))
		asTransport(t, err)
		if h.n.Load() != 0 {
			t.Error("the server handled a request without a client certificate")
		}
	})
	t.Run("tls 1.1 server refused", func(t *testing.T) {
		s, h := start(t, &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		cfg := baseConfig(s.URL)
		cfg.CAFile = pki.CAFile
		_, err := newClient(t, cfg).Submit(t.Context(), vxu("T6"))
		if te := asTransport(t, err); te.Attempts != 1 || h.n.Load() != 0 {
			t.Errorf("got %v after %d attempts", err, te.Attempts)
		}
	})
	t.Run("bad files", func(t *testing.T) {
		for _, tc := range []struct {
			cfg  func(*ClientConfig)
			path string
		}{
			{func(c *ClientConfig) { c.CAFile = pki.CAFile + ".missing" }, "ca_file"},
			{func(c *ClientConfig) { c.CAFile = pki.ClientKey }, "ca_file"},
			{func(c *ClientConfig) { c.CertFile, c.KeyFile = pki.ClientCert, pki.ServerKey }, "cert_file"},
		} {
			cfg := baseConfig("https://127.0.0.1:1/")
			tc.cfg(&cfg)
			_, err := NewClient(cfg)
			var fe *field.Error
			if !errors.As(err, &fe) || fe.Path != tc.path {
				t.Errorf("NewClient = %v, want a field error at %s", err, tc.path)
			}
		}
	})
}

// TestFallback11 covers the switch to SOAP 1.1 after a 415 or a
// VersionMismatch fault, and that it sticks.
func TestFallback11(t *testing.T) {
	vm := readTestdata(t, "fault_version_mismatch.xml")
	for _, tc := range []struct {
		name   string
		refuse func(w http.ResponseWriter)
	}{
		{"415", func(w http.ResponseWriter) { w.WriteHeader(http.StatusUnsupportedMediaType) }},
		{"VersionMismatch", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/soap+xml")
			w.WriteHeader(500)
			_, _ = w.Write(vm)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &iis{}
			inner := NewServer(h, ServerOptions{})
			var n12, n11 atomic.Int32
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml") {
					n12.Add(1)
					tc.refuse(w)
					return
				}
				if r.Header.Get("SOAPAction") == "" {
					t.Error("SOAP 1.1 request without SOAPAction")
				}
				n11.Add(1)
				inner.ServeHTTP(w, r)
			}))
			cfg := baseConfig(srv.URL)
			cfg.Profile.Fallback11 = true
			c := newClient(t, cfg)
			rep, err := c.Submit(t.Context(), vxu("FB1"))
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if rep.Attempts != 2 || n12.Load() != 1 || n11.Load() != 1 || h.last(t).Version != SOAP11 {
				t.Errorf("attempts %d, 1.2 requests %d, 1.1 requests %d", rep.Attempts, n12.Load(), n11.Load())
			}
			rep, err = c.Submit(t.Context(), vxu("FB2"))
			if err != nil || rep.Attempts != 1 || n12.Load() != 1 {
				t.Errorf("second Submit: %v, attempts %d, 1.2 requests %d", err, rep.Attempts, n12.Load())
			}
			// Without Fallback11 the refusal is the answer.
			cfg.Profile.Fallback11 = false
			_, err = newClient(t, cfg).Submit(t.Context(), vxu("FB3"))
			if err == nil {
				t.Fatal("no error without Fallback11")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := baseConfig("https://iis.example/ws")
	tests := []struct {
		name  string
		edit  func(*ClientConfig)
		paths []string
	}{
		{"ok", func(*ClientConfig) {}, nil},
		{"defaults ok", func(c *ClientConfig) { *c = ClientConfig{URL: "http://127.0.0.1:8080/IISService"} }, nil},
		{"no url", func(c *ClientConfig) { c.URL = "" }, []string{"url"}},
		{"bad scheme", func(c *ClientConfig) { c.URL = "ftp://iis.example/" }, []string{"url"}},
		{"no host", func(c *ClientConfig) { c.URL = "https:///ws" }, []string{"url"}},
		{"userinfo", func(c *ClientConfig) { c.URL = "https://u:pw-CANARY@iis.example/" }, []string{"url"}},
		{"unparseable", func(c *ClientConfig) { c.URL = "https://iis.example/%zz" }, []string{"url"}},
		{"tls files on http", func(c *ClientConfig) { c.URL, c.CAFile = "http://iis.example/", "ca.pem" }, []string{"url"}},
		{"cert without key", func(c *ClientConfig) { c.CertFile = "c.pem" }, []string{"key_file"}},
		{"key without cert", func(c *ClientConfig) { c.KeyFile = "k.pem" }, []string{"cert_file"}},
		{"bad wsdl", func(c *ClientConfig) { c.Profile.WSDL = "2013" }, []string{"profile.wsdl"}},
		{"bad version", func(c *ClientConfig) { c.Profile.Version = 7 }, []string{"profile.version"}},
		{"fallback on 1.1", func(c *ClientConfig) { c.Profile.Version, c.Profile.Fallback11 = SOAP11, true }, []string{"profile.fallback_11"}},
		{"hub without id", func(c *ClientConfig) { c.Profile.WSDL = WSDLHub }, []string{"profile.hub_destination_id"}},
		{"hub bad id", func(c *ClientConfig) { c.Profile = Profile{WSDL: WSDLHub, HubDestinationID: "a b"} }, []string{"profile.hub_destination_id"}},
		{"hub bad uri", func(c *ClientConfig) {
			c.Profile = Profile{WSDL: WSDLHub, HubDestinationID: "x", HubDestinationURI: "no-scheme"}
		}, []string{"profile.hub_destination_uri"}},
		{"hub id on 2011", func(c *ClientConfig) { c.Profile.HubDestinationID = "x" }, []string{"profile.hub_destination_id"}},
		{"negative timeout", func(c *ClientConfig) { c.Timeout = -1 }, []string{"timeout"}},
		{"wait min over max", func(c *ClientConfig) { c.RetryWaitMin, c.RetryWaitMax = time.Minute, time.Second }, []string{"retry_wait_min"}},
		{"negative waits", func(c *ClientConfig) { c.RetryWaitMin, c.RetryWaitMax = -1, -1 }, []string{"retry_wait_min", "retry_wait_max"}},
		{"conns", func(c *ClientConfig) { c.MaxConnsPerHost = -2 }, []string{"max_conns_per_host"}},
		{"control char in username", func(c *ClientConfig) { c.Username = "a\x00b" }, []string{"username"}},
		{"several", func(c *ClientConfig) { c.URL, c.Timeout = "", -1 }, []string{"url", "timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			err := cfg.Validate()
			var paths []string
			for _, e := range field.Flatten(err) {
				var fe *field.Error
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a *field.Error", e)
				}
				paths = append(paths, fe.Path)
			}
			if fmt.Sprint(paths) != fmt.Sprint(tc.paths) {
				t.Errorf("paths %v, want %v (%v)", paths, tc.paths, err)
			}
			noLeak(t, tc.name, err, nil)
		})
	}
	// A password XML cannot carry is found by NewClient, which reveals it.
	bad := ok
	bad.Password = field.NewSecret("pw-CANARY\x01")
	_, err := NewClient(bad)
	var fe *field.Error
	if !errors.As(err, &fe) || fe.Path != "password" {
		t.Errorf("NewClient with a bad password: %v", err)
	}
	noLeak(t, "bad password", err, nil)
}

// TestNoSecretsPrinted dumps a client and its configuration every way.
func TestNoSecretsPrinted(t *testing.T) {
	cfg := baseConfig("https://iis.example/ws?key=v")
	c := newClient(t, cfg)
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg),
	} {
		if strings.Contains(s, "CANARY") {
			t.Errorf("the password leaked: %s", s)
		}
	}
	if got := c.String(); got != "soap.Client(https://iis.example/ws)" {
		t.Errorf("String() = %q", got)
	}
}

func TestWithDefaults(t *testing.T) {
	c := ClientConfig{}.WithDefaults()
	if c.Timeout != DefaultTimeout || c.MaxRetries != DefaultMaxRetries || c.RetryWaitMin != DefaultRetryWaitMin ||
		c.RetryWaitMax != DefaultRetryWaitMax || c.MaxConnsPerHost != DefaultMaxConnsPerHost || c.Profile.WSDL != WSDL2011 ||
		c.Profile.Version != SOAP12 {
		t.Errorf("defaults: %+v", c)
	}
	if r := (ClientConfig{MaxRetries: -5}).WithDefaults().retries(); r != 0 {
		t.Errorf("MaxRetries -5 gives %d retries", r)
	}
}

func TestVersionText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		ok   bool
	}{{"1.2", SOAP12, true}, {"", SOAP12, true}, {"1.1", SOAP11, true}, {"SOAP11", SOAP11, true}, {"2.0", 0, false}} {
		var v Version
		err := v.UnmarshalText([]byte(tc.in))
		if (err == nil) != tc.ok || tc.ok && v != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v", tc.in, v, err)
		}
	}
	if b, err := SOAP11.MarshalText(); err != nil || string(b) != "1.1" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if _, err := Version(9).MarshalText(); err == nil {
		t.Error("MarshalText accepted Version(9)")
	}
}

// TestKeepAlive: sequential calls reuse one connection, and faults (which
// are answers, not failures) do not close it.
func TestKeepAlive(t *testing.T) {
	h := &iis{fail: func(r SubmitRequest) error {
		if hl7Field(r.Message, "MSH", 10) == "KA-FAULT" {
			return &Fault{Kind: FaultSecurity}
		}
		return nil
	}}
	s := httptest.NewUnstartedServer(NewServer(h, ServerOptions{}))
	var conns atomic.Int32
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	c := newClient(t, baseConfig(s.URL))
	for i := range 20 {
		id := fmt.Sprintf("KA%d", i)
		if i == 10 {
			id = "KA-FAULT"
		}
		_, err := c.Submit(t.Context(), vxu(id))
		if (err != nil) != (i == 10) {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential calls, want 1", n)
	}
}
