package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// post sends body to url with content type ct and returns the status,
// headers and body.
func post(t *testing.T, url, ct string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

const ct12 = "application/soap+xml; charset=utf-8"

func TestServerWSDL(t *testing.T) {
	srv := serve(t, NewServer(&iis{}, ServerOptions{}))
	resp, err := http.Get(srv.URL + "/IISService2011?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	want := `<soap12:address location="` + srv.URL + `/IISService2011"/>`
	if !bytes.Contains(body, []byte(want)) || bytes.Contains(body, []byte("https://localhost/IISService2011")) {
		t.Errorf("WSDL address not rewritten to %s", want)
	}
	for _, s := range []string{`targetNamespace="urn:cdc:iisb:2011"`, `name="submitSingleMessage"`, `<xsd:element name="hl7Message"`} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("WSDL lacks %s", s)
		}
	}
	if err := xml.Unmarshal(body, new(struct{})); err != nil {
		t.Errorf("WSDL is not well-formed: %v", err)
	}
	// A WSDL of the caller's choosing, HEAD, and the other methods.
	own := serve(t, NewServer(&iis{}, ServerOptions{WSDL: []byte(`<d><soap:address location="x"/></d>`)}))
	resp, err = http.Get(own.URL + "/p?WSDL")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `<d><soap:address location="`+own.URL+`/p"/></d>` {
		t.Errorf("custom WSDL: %s", body)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{{"HEAD", "/x?wsdl", 200}, {"GET", "/x", 405}, {"PUT", "/x", 405}} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

func TestServerRejects(t *testing.T) {
	env12 := func(body string) string {
		return `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>` + body + `</soap:Body></soap:Envelope>`
	}
	big := env12(`<submitSingleMessage xmlns="urn:cdc:iisb:2011"><hl7Message>` + strings.Repeat("x", 3000) + `</hl7Message></submitSingleMessage>`)
	big2014 := env12(`<SubmitSingleMessageRequest xmlns="urn:cdc:iisb:2014"><Hl7Message>` + strings.Repeat("x", 3000) + `</Hl7Message></SubmitSingleMessageRequest>`)
	big11 := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>` + big[strings.Index(big, "<submit"):]
	tests := []struct {
		name    string
		ct      string
		body    string
		kind    FaultKind
		code    string
		version Version
		has     []string
	}{
		{"malformed", ct12, `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body><a></b>`, FaultUnknown, "soap:Sender", SOAP12, nil},
		{"malformed 1.1", "text/xml", `<x`, FaultUnknown, "soap:Client", SOAP11, []string{"<faultcode>soap:Client</faultcode>"}},
		{"not an envelope", ct12, `<submitSingleMessage/>`, FaultUnknown, "soap:Sender", SOAP12, nil},
		{"empty body", ct12, env12(``), FaultUnknown, "soap:Sender", SOAP12, nil},
		{"unknown envelope namespace", ct12, `<e:Envelope xmlns:e="urn:soap:2.0"><e:Body/></e:Envelope>`, FaultOther, "soap:VersionMismatch", SOAP12, nil},
		{"unknown operation (NIST)", ct12, string(readTestdata(t, "nist_unsupported_request.xml")), FaultUnsupportedOperation, "soap:Sender", SOAP12,
			[]string{`<ns:UnsupportedOperationFault xmlns:ns="urn:cdc:iisb:2011">`, "<ns:Reason>UnsupportedOperation</ns:Reason>"}},
		{"unknown operation 1.1", "text/xml", `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><q:getHistory xmlns:q="urn:cdc:iisb:2011"/></s:Body></s:Envelope>`,
			FaultUnsupportedOperation, "soap:Client", SOAP11, []string{"<detail><ns:UnsupportedOperationFault"}},
		{"too large 2011", ct12, big, FaultMessageTooLarge, "soap:Sender", SOAP12,
			[]string{"<ns:Code>413</ns:Code><ns:Reason>MessageTooLarge</ns:Reason>"}},
		{"too large 2014", ct12, big2014, FaultMessageTooLarge, "soap:Sender", SOAP12,
			[]string{`<iis:MessageTooLargeFault xmlns:iis="urn:cdc:iisb:2014"><iis:Size>`, "<iis:MaxSize>2048</iis:MaxSize>"}},
		{"too large 1.1", "text/xml", big11, FaultMessageTooLarge, "soap:Client", SOAP11, nil},
	}
	h := &iis{}
	srv := serve(t, NewServer(h, ServerOptions{MaxRequestBytes: 2048}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := post(t, srv.URL, tc.ct, []byte(tc.body))
			if status != 500 {
				t.Errorf("status %d, want 500", status)
			}
			wantCT := "application/soap+xml"
			if tc.version == SOAP11 {
				wantCT = "text/xml"
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), wantCT) {
				t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
			}
			r, err := parseReply(body)
			if err != nil || r.fault == nil {
				t.Fatalf("not a fault: %v\n%s", err, body)
			}
			if r.fault.Kind != tc.kind || r.fault.Code != tc.code || r.version != tc.version {
				t.Errorf("fault %+v version %v", *r.fault, r.version)
			}
			for _, s := range tc.has {
				if !bytes.Contains(body, []byte(s)) {
					t.Errorf("reply lacks %s:\n%s", s, body)
				}
			}
		})
	}
	if h.calls.Load() != 0 {
		t.Errorf("the handler was called %d times", h.calls.Load())
	}
}

func TestServerHandlerErrors(t *testing.T) {
	req := readTestdata(t, "nist_submit_request.xml")
	t.Run("HTTPError", func(t *testing.T) {
		h := &iis{fail: func(SubmitRequest) error { return &HTTPError{Status: 503, RetryAfter: 1500 * time.Millisecond} }}
		srv := serve(t, NewServer(h, ServerOptions{}))
		status, hdr, body := post(t, srv.URL, ct12, req)
		if status != 503 || hdr.Get("Retry-After") != "2" || bytes.Contains(body, []byte("Envelope")) {
			t.Errorf("status %d Retry-After %q body %q", status, hdr.Get("Retry-After"), body)
		}
	})
	t.Run("other error", func(t *testing.T) {
		h := &iis{fail: func(SubmitRequest) error { return errors.New("database down for PAT123") }}
		srv := serve(t, NewServer(h, ServerOptions{}))
		status, _, body := post(t, srv.URL, ct12, req)
		r, _ := parseReply(body)
		if status != 500 || r.fault == nil || r.fault.Kind != FaultUnknown || bytes.Contains(body, []byte("PAT123")) {
			t.Errorf("status %d fault %+v body %s", status, r.fault, body)
		}
	})
	t.Run("fault status", func(t *testing.T) {
		h := &iis{fail: func(SubmitRequest) error { return &Fault{Kind: FaultSecurity, HTTPStatus: 200} }}
		srv := serve(t, NewServer(h, ServerOptions{}))
		status, _, body := post(t, srv.URL, ct12, req)
		r, _ := parseReply(body)
		if status != 200 || r.fault == nil || r.fault.Kind != FaultSecurity || r.fault.Code != "soap:Receiver" || r.fault.CDCReason != "Security" {
			t.Errorf("status %d fault %+v", status, r.fault)
		}
	})
}

// TestServerNIST answers the NIST test requests.
func TestServerNIST(t *testing.T) {
	h := &iis{}
	srv := serve(t, NewServer(h, ServerOptions{}))
	status, hdr, body := post(t, srv.URL, ct12, readTestdata(t, "nist_connectivity_request.xml"))
	r, err := parseReply(body)
	if status != 200 || err != nil || string(r.text) != "Hello world!" {
		t.Errorf("connectivity: %d %v %q", status, err, r.text)
	}
	if ct := hdr.Get("Content-Type"); ct != `application/soap+xml; charset=utf-8; action="urn:cdc:iisb:2011:connectivityTestResponse"` {
		t.Errorf("Content-Type %q", ct)
	}
	status, _, body = post(t, srv.URL, ct12, readTestdata(t, "nist_submit_request.xml"))
	if r, err = parseReply(body); status != 200 || err != nil {
		t.Fatalf("submit: %d %v", status, err)
	}
	got := h.last(t)
	if got.Username != "???" || got.WSDL != WSDL2011 || got.Version != SOAP12 ||
		!bytes.HasPrefix(got.Message, []byte("MSH|^~\\&|Test EHR Application|X68||NIST Test Iz Reg|")) ||
		bytes.Count(got.Message, []byte("\r")) != 4 || bytes.ContainsRune(got.Message, '\n') {
		t.Errorf("handler got %q %q", got.Username, got.Message)
	}
	if !bytes.Contains(normalizeHL7(r.text), []byte("MSA|AA|NIST-IZ-007.00\r")) {
		t.Errorf("reply %q", r.text)
	}
}

// TestServerWireGolden pins the server's 2011 SecurityFault (the shape the
// node-soap test IIS sends) and a 2014 response (its random MessageID
// masked).
func TestServerWireGolden(t *testing.T) {
	sec := &iis{fail: func(SubmitRequest) error {
		return &Fault{Kind: FaultSecurity, Code: "soap:Receiver", Reason: "Invalid Username, Password or FacilityID",
			CDCCode: "401", CDCReason: "Security", Detail: "Invalid Username, Password or FacilityID"}
	}}
	srv := serve(t, NewServer(sec, ServerOptions{}))
	_, _, body := post(t, srv.URL, ct12, readTestdata(t, "nist_submit_request.xml"))
	golden(t, "server_security_fault_2011.golden.xml", body)

	ok := serve(t, NewServer(&iis{}, ServerOptions{}))
	r := &request{v: vHub, version: SOAP12, op: opSubmit, payload: vxu("G2"), user: []byte("u"), password: []byte("p"),
		to: ok.URL, messageID: "urn:uuid:11111111-1111-4111-8111-111111111111", hubID: "dev_MN", hubURI: "https://iis.example/ws"}
	req, err := encodeRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	_, _, body = post(t, ok.URL, ct12, req)
	masked := regexp.MustCompile(`<wsa:MessageID([^>]*)>[^<]*<`).ReplaceAll(body, []byte("<wsa:MessageID$1>MASKED<"))
	masked = regexp.MustCompile(`\|20250101120001\|`).ReplaceAll(masked, []byte("|TS|"))
	golden(t, "server_hub_response.golden.xml", masked)
	if !bytes.Contains(body, []byte("<wsa:RelatesTo xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">urn:uuid:11111111-1111-4111-8111-111111111111</wsa:RelatesTo>")) {
		t.Error("RelatesTo does not echo the request's MessageID")
	}
}
