package soap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{"plain", "plain", false},
		{"MSH|^~\\&|A\rPID|<1>\r", "MSH|^~\\&amp;|A&#xD;PID|&lt;1&gt;&#xD;", false},
		{"tab\tand\nlf", "tab\tand\nlf", false},
		{"quotes \" ' stay", "quotes \" ' stay", false},
		{"]]> in text", "]]&gt; in text", false},
		{"ümlaut €", "ümlaut €", false},
		{"nul\x00", "", true},
		{"vt\x0b", "", true},
		{"bad utf8 \xc3", "", true},
		{"noncharacter \uFFFE", "", true},
	}
	for _, tc := range tests {
		got, err := appendEscaped(nil, []byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("appendEscaped(%q) error %v", tc.in, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidChar) || strings.Contains(err.Error(), tc.in) {
				t.Errorf("appendEscaped(%q) error %v", tc.in, err)
			}
			continue
		}
		if string(got) != tc.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeHL7(t *testing.T) {
	const ack = "MSH|^~\\&|IIS|X\rMSA|AA|1\r"
	tests := []struct{ name, in, want string }{
		{"cr", ack, ack},
		{"no trailing cr", "MSH|^~\\&|IIS|X\rMSA|AA|1", ack},
		{"lf", "MSH|^~\\&|IIS|X\nMSA|AA|1\n", ack},
		{"crlf", "MSH|^~\\&|IIS|X\r\nMSA|AA|1\r\n", ack},
		{"whitespace and blank lines", " \n\t MSH|^~\\&|IIS|X\n\n    MSA|AA|1\n  \n", ack},
		{"base64", "TVNIfF5+XCZ8SUlTfFgNTVNBfEFBfDEN", ack},
		{"base64 wrapped", "TVNIfF5+XCZ8\r\nSUlTfFgNTVNB\nfEFBfDEN", ack},
		{"base64 unpadded", "TVNIfF5+XCZ8SUlTfFgNTVNBfEFBfDE", "MSH|^~\\&|IIS|X\rMSA|AA|1\r"},
		{"url encoded", "MSH%7C%5E%7E%5C%26%7CIIS%7CX%0DMSA%7CAA%7C1%0D", ack},
		{"url encoded plus", "MSH%7C%5E%7E%5C%26%7CIIS%7CA+B%0D", "MSH|^~\\&|IIS|A B\r"},
		{"text", "  SUCCESS \n", "SUCCESS"},
		{"text lines", "line1\nline2", "line1\rline2"},
		{"not base64 of hl7", "SGVsbG8gd29ybGQ=", "SGVsbG8gd29ybGQ="},
		{"hl7 with percent stays", "MSH|^~\\&|A%7C\r", "MSH|^~\\&|A%7C\r"},
		{"empty", " \r\n ", ""},
		{"batch", "FHS|^~\\&\nBHS|^~\\&\nMSH|^~\\&\n", "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&\r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizeHL7([]byte(tc.in)); string(got) != tc.want {
				t.Errorf("normalizeHL7(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestParseReplyFiles pins what the parser finds in each canned envelope.
func TestParseReplyFiles(t *testing.T) {
	tests := []struct {
		file    string
		found   bool
		fault   FaultKind
		version Version
		has     string // in the result text
		err     bool
	}{
		{"reply_peer_ok.xml", true, "", SOAP12, "MSA|AA|X1\r", false},
		{"reply_soap11.xml", true, "", SOAP11, "MSA|AA|X1\r", false},
		{"reply_prefixes.xml", true, "", SOAP12, "MSA|AA|X1", false},
		{"nist_connectivity_response.xml", true, "", SOAP12, "You sent: Hello world!", false},
		{"nist_submit_response.xml", true, "", SOAP12, "<msgControlID>", false},
		{"fault_peer_unknown.xml", false, FaultUnknown, SOAP12, "", false},
		{"fault_peer_toolarge.xml", false, FaultMessageTooLarge, SOAP12, "", false},
		{"fault_version_mismatch.xml", false, FaultOther, SOAP11, "", false},
		{"not_soap.html", false, "", SOAP12, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			r, err := parseReply(readTestdata(t, tc.file))
			if (err != nil) != tc.err {
				t.Fatalf("error %v", err)
			}
			if err != nil && !errors.Is(err, ErrNoReply) {
				t.Errorf("error %v is not ErrNoReply", err)
			}
			if r.found != tc.found || r.version != tc.version || !strings.Contains(string(r.text), tc.has) {
				t.Errorf("found %v version %v text %q", r.found, r.version, r.text)
			}
			if (r.fault == nil) != (tc.fault == "") || r.fault != nil && r.fault.Kind != tc.fault {
				t.Errorf("fault %+v, want %q", r.fault, tc.fault)
			}
		})
	}
	r, err := parseReply([]byte(`<Envelope><Body><junk/><submitSingleMessageResponse><return>MSH|x</return></submitSingleMessageResponse></Body></Envelope>`))
	if err != nil || string(r.text) != "MSH|x" {
		t.Errorf("a body child before the response: %q, %v", r.text, err)
	}
	r, _ = parseReply(readTestdata(t, "fault_izgw_2014.xml"))
	if f := r.fault; f == nil || f.Size != 70000 || f.MaxSize != 65536 || f.CDCReason != "MessageTooLarge" {
		t.Errorf("IZ Gateway 2014 fault: %+v", f)
	}
	r, _ = parseReply(readTestdata(t, "fault_version_mismatch.xml"))
	if f := r.fault; f == nil || !f.isVersionMismatch() {
		t.Errorf("VersionMismatch: %+v", f)
	}
}

func TestParseReplyBroken(t *testing.T) {
	for _, body := range []string{
		"",
		"garbage",
		"<Envelope>",
		"<Envelope><Body></Body></Envelope>",
		"<Envelope><Body><resp><return>unterminated",
		"<Envelope><Header><return>x</return></Header></Envelope>",
		"<a><b></a>",
		"<?xml version='1.0' encoding='EBCDIC'?><Envelope/>",
	} {
		r, err := parseReply([]byte(body))
		if err == nil || r.found || r.fault != nil {
			t.Errorf("parseReply(%q) = %+v, %v; want ErrNoReply", body, r, err)
		}
		if err != nil && strings.Contains(err.Error(), "unterminated\"") {
			t.Errorf("error quotes the body: %v", err)
		}
	}
}

func TestRootPart(t *testing.T) {
	body := readTestdata(t, "reply_mtom.txt")
	got := rootPart(`multipart/related; type="application/xop+xml"; boundary="uuid:8a1f"; start="<root.message@cxf.apache.org>"`, body)
	if !bytes.HasPrefix(got, []byte("<soap:Envelope")) {
		t.Errorf("rootPart = %.60q", got)
	}
	if got := rootPart("application/soap+xml", body); !bytes.Equal(got, body) {
		t.Error("rootPart changed a non-multipart body")
	}
}

// FuzzParseReply: the reply parser and the HL7 normaliser never panic on
// any body, and a parsed reply is either a fault, a result or an error.
func FuzzParseReply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<Envelope><Body><r><return><![CDATA[MSH|^~\\&\r]]></return></r></Body></Envelope>"))
	f.Add([]byte("<Envelope><Body><Fault><Detail><fault><Code>1</Code></fault></Detail></Fault></Body></Envelope>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseReply(body)
		if err != nil && !errors.Is(err, ErrNoReply) {
			t.Fatalf("error %v is not ErrNoReply", err)
		}
		if err == nil && !r.found && r.fault == nil {
			t.Fatal("no error, no result, no fault")
		}
		_ = normalizeHL7(r.text)
		_ = normalizeHL7(body)
		if r.fault != nil {
			_ = r.fault.Error()
		}
		_ = rootPart("multipart/related; boundary=x", body)
	})
}
