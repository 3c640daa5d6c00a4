package channels

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// returnNow is the fixed clock of the return tests.
var returnNow = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// returnIDPattern is the shape of a return message's MSH-10.
var returnIDPattern = regexp.MustCompile(`^R\d{19}$`)

// parseOriginal parses the canary VXU the EHR sent.
func parseOriginal(t *testing.T) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse([]byte(destCanaryVXU))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// maskControlID checks MSH-10 of out and replaces it with a fixed value, so
// the output can be compared with a golden file.
func maskControlID(t *testing.T, out []byte) []byte {
	t.Helper()
	m, err := hl7.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	id := m.ControlID()
	if !returnIDPattern.MatchString(id) || !strings.HasPrefix(id, "R20250304050607") {
		t.Errorf("MSH-10 = %q, want R + time + sequence", id)
	}
	m, err = m.Set("MSH-10", "R-CONTROL-ID")
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw()
}

// checkGolden compares got with testdata/return/<name>.golden (CR
// terminators kept as they are on the wire), rewriting it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "return", name+".golden"), got)
}

// segments returns the segments of msg named name, as wire bytes.
func segments(msg []byte, name string) []string {
	var out []string
	for _, s := range strings.Split(string(msg), "\r") {
		if strings.HasPrefix(s, name+"|") {
			out = append(out, s)
		}
	}
	return out
}

func TestBuildReturnReaddressesACK(t *testing.T) {
	tests := []struct {
		name, file string
	}{
		{"nist_ae_error", "nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7"},
		{"nist_ae_two_warnings", "nist-cni/ack_z23_AD-9.2_AE_two_warnings.hl7"},
		{"nist_ar_version", "nist-onc2015/ack_z23_AD-10.2_AR_unsupported_version.hl7"},
		{"nist_aa", "nist-onc2015/ack_z23_AD-1.2_AA.hl7"},
		{"nm_repeated_msa", "state-acks/ack_nm_ack_pos_1.hl7"},
		{"pa_no_msa2", "state-acks/ack_pa_err_4_missing_1.hl7"},
		{"mcir_sft_warnings", "state-acks/ack_test_01.hl7"},
	}
	orig := parseOriginal(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := os.ReadFile(filepath.Join("..", "testdata", "messages", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// The verdict is irrelevant for an HL7 reply: its MSA-1 is kept.
			out, err := buildReturn(orig, reply, iis.Accepted, "", returnNow)
			if err != nil {
				t.Fatal(err)
			}
			assertNoCanary(t, "return", string(out))
			m, err := hl7.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			in, _ := hl7.Parse(reply)
			inMSH, _ := in.Segment("MSH", 1)
			for path, want := range map[string]string{
				"MSH-3": "MYIIS", "MSH-4": "MYSTATE", "MSH-5": "MYEHR", "MSH-6": "MYCLINIC^1.2.3^ISO",
				"MSH-7": in.Value("MSH-7"), "MSH-9": string(inMSH.Field(9).Raw()),
			} {
				if got, _, _ := m.Get(path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			gotMSA, wantMSA := segments(out, "MSA"), segments(reply, "MSA")
			if len(gotMSA) != len(wantMSA) {
				t.Fatalf("%d MSA segments, want %d", len(gotMSA), len(wantMSA))
			}
			for i := range gotMSA {
				g, w := strings.Split(gotMSA[i], "|"), strings.Split(wantMSA[i]+"||", "|")
				if g[2] != "CANARY-0001" {
					t.Errorf("MSA[%d]-2 = %q, want the original MSH-10", i+1, g[2])
				}
				if g[1] != w[1] || (len(g) > 3 && g[3] != w[3]) {
					t.Errorf("MSA[%d] = %q, want MSA-1 and MSA-3 of %q", i+1, gotMSA[i], wantMSA[i])
				}
			}
			if got, want := strings.Join(segments(out, "ERR"), "\r"), strings.Join(segments(reply, "ERR"), "\r"); got != want {
				t.Errorf("ERR segments changed:\n got %q\nwant %q", got, want)
			}
			checkGolden(t, tc.name, maskControlID(t, out))
		})
	}
}

func TestBuildReturnNonHL7Reply(t *testing.T) {
	orig := parseOriginal(t)
	tests := []struct {
		name    string
		reply   []byte
		verdict iis.Verdict
		code    string
	}{
		{"accepted", []byte("OK"), iis.Accepted, "AA"},
		{"unknown", []byte("<html>thanks</html>"), iis.Unknown, "AA"},
		{"file", nil, iis.Unknown, "AA"},
		{"no verdict", nil, "", "AA"},
		{"warnings", []byte(`{"status":"warn"}`), iis.AcceptedWithWarnings, "AE"},
		{"rejected", []byte(`{"status":"rejected"}`), iis.Rejected, "AR"},
		{"HL7 without MSA", []byte("MSH|^~\\&|A|B|C|D|20250101||ADT^A08|X|P|2.5.1\r"), iis.Accepted, "AA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := buildReturn(orig, tc.reply, tc.verdict, "", returnNow)
			if err != nil {
				t.Fatal(err)
			}
			out = maskControlID(t, out)
			want := "MSH|^~\\&|MYIIS|MYSTATE|MYEHR|MYCLINIC^1.2.3^ISO|20250304050607+0000||ACK^V04^ACK|R-CONTROL-ID|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r" +
				"MSA|" + tc.code + "|CANARY-0001\r"
			if string(out) != want {
				t.Errorf("got  %q\nwant %q", out, want)
			}
		})
	}
	if _, err := buildReturn(orig, nil, iis.Verdict("maybe"), "", returnNow); err == nil {
		t.Error("unknown verdict: want an error")
	}
	if _, err := buildReturn(nil, nil, iis.Accepted, "", returnNow); err == nil {
		t.Error("nil original: want an error")
	}
}

func TestBuildReturnFailure(t *testing.T) {
	orig := parseOriginal(t)
	reply := []byte("ignored when failure is set")
	out, err := buildReturn(orig, reply, iis.Unknown, "mllp: no reply before ack timeout", returnNow)
	if err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, "return", string(out))
	out = maskControlID(t, out)
	want := "MSH|^~\\&|MYIIS|MYSTATE|MYEHR|MYCLINIC^1.2.3^ISO|20250304050607+0000||ACK^V04^ACK|R-CONTROL-ID|P|2.5.1|||NE|NE|||||Z23^CDCPHINVS\r" +
		"MSA|AE|CANARY-0001\r" +
		"ERR|||207^Application internal error^HL70357|E||||mllp: no reply before ack timeout\r"
	if string(out) != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
	checkGolden(t, "dead_lettered", out)
}

func TestBuildReturnRecodesDelimiters(t *testing.T) {
	// The EHR uses # ! @ as component, repetition and escape characters;
	// the registry's ACK uses the standard ones.
	orig, err := hl7.Parse([]byte("MSH|#!@$|EHR#x|CLINIC#1.2.3#ISO|IIS|STATE|20250101||VXU#V04#VXU_V04|ID^1|P|2.5.1\r"))
	if err != nil {
		t.Fatal(err)
	}
	reply := []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A1|P|2.5.1\rMSA|AE|ID\\S\\1\rERR||RXA^1^5|999^Application error^HL70357|W\r")
	out, err := buildReturn(orig, reply, iis.Unknown, "", returnNow)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"MSH-3.1": "IIS", "MSH-4.1": "STATE",
		"MSH-5.1": "EHR", "MSH-5.2": "x",
		"MSH-6.1": "CLINIC", "MSH-6.2": "1.2.3", "MSH-6.3": "ISO",
		"MSA-1": "AE", "MSA-2": "ID^1",
	} {
		if got, _, _ := m.Get(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if !bytes.Contains(out, []byte("\rMSA|AE|ID\\S\\1\r")) {
		t.Errorf("MSA-2 not re-escaped for the reply's delimiters: %q", out)
	}
}

func TestReturnControlIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 5000 {
		id := returnControlID(returnNow)
		if !returnIDPattern.MatchString(id) || len(id) != 20 {
			t.Fatalf("control id %q: want R + 14 digits + 5 digits", id)
		}
		if seen[id] {
			t.Fatalf("control id %q repeated", id)
		}
		seen[id] = true
	}
}
