package soap

import (
	"bytes"
	"regexp"
	"testing"
)

// TestEncodeRequestGolden pins the request envelope of each profile and
// operation (testdata/request_*.golden.xml; regenerate with -update).
func TestEncodeRequestGolden(t *testing.T) {
	msg := []byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|G1|P|2.5.1\rPID|1||PAT123^^^MR||ZZTEST^A&B<C>\r")
	tests := []struct {
		name    string
		v       *variant
		version Version
		op      op
	}{
		{"2011_soap12_submit", v2011, SOAP12, opSubmit},
		{"2011_soap11_submit", v2011, SOAP11, opSubmit},
		{"2011_soap12_connectivity", v2011, SOAP12, opConnectivity},
		{"2014_soap12_submit", v2014, SOAP12, opSubmit},
		{"2014_soap12_connectivity", v2014, SOAP12, opConnectivity},
		{"hub_soap12_submit", vHub, SOAP12, opSubmit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &request{v: tc.v, version: tc.version, op: tc.op, payload: msg,
				user: []byte("user"), password: []byte("p&amp;ss"), facility: []byte("FAC"),
				to: "https://iis.example/ws", messageID: "urn:uuid:00000000-0000-4000-8000-000000000000",
				hubID: "dev_MN", hubURI: "https://iis.example/ws"}
			if tc.op == opConnectivity {
				r.payload = []byte("Hello <world>")
			}
			got, err := encodeRequest(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "request_"+tc.name+".golden.xml", got)
			// What our server parses back is what went in.
			in, f := parseRequest(got, tc.version)
			if f != nil || !in.known || in.op != tc.op || in.v != tc.v || in.version != tc.version {
				t.Fatalf("parseRequest: %+v %+v", in, f)
			}
			if !bytes.Equal(in.payload, r.payload) {
				t.Errorf("payload %q, want %q", in.payload, r.payload)
			}
			if tc.op == opSubmit && (in.user != "user" || in.pass != "p&ss" || in.facility != "FAC") {
				t.Errorf("credentials %q %q %q", in.user, in.pass, in.facility)
			}
		})
	}
}

func TestNewMessageID(t *testing.T) {
	re := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := newMessageID(), newMessageID()
	if !re.MatchString(a) || a == b {
		t.Errorf("message ids %q %q", a, b)
	}
}
