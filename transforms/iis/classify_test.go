package iis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/internal/golden"
)

// corpus returns the ACK and RSP samples under the repository's
// testdata/messages, keyed by their path below it.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	const root = "../../testdata/messages"
	out := map[string][]byte{}
	for _, pat := range []string{"*/ack_*.hl7", "*/rsp_*.hl7"} {
		files, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, f)
			out[filepath.ToSlash(rel)] = b
		}
	}
	if len(out) < 40 {
		t.Fatalf("found only %d ACK/RSP samples", len(out))
	}
	return out
}

// TestClassifyGolden pins the full classification of every sample ACK and
// RSP. Regenerate with -update and review the diff.
func TestClassifyGolden(t *testing.T) {
	got := map[string]Classification{}
	for name, b := range corpus(t) {
		got[name] = Classify(b)
	}
	path := filepath.Join("testdata", "classify.golden.json")
	golden.JSON(t, path, got) // map keys are sorted
	if t.Failed() {
		reportEntries(t, path, got)
	}
}

// reportEntries names every corpus entry whose classification differs from
// the golden file's: golden.JSON shows only the first differing line, which
// may not even name its entry.
func reportEntries(t *testing.T, path string, got map[string]Classification) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return // golden.JSON has said why
	}
	var want map[string]Classification
	if err := json.Unmarshal(b, &want); err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	names := slices.Collect(maps.Keys(got))
	for name := range want {
		if _, ok := got[name]; !ok {
			names = append(names, name) // a sample gone from the corpus
		}
	}
	slices.Sort(names)
	for _, name := range names {
		g, _ := json.Marshal(got[name])
		x, _ := json.Marshal(want[name])
		if !bytes.Equal(g, x) {
			t.Errorf("%s:\n got %s\nwant %s", name, g, x)
		}
	}
}

// TestClassifyCorpusVerdicts pins the verdict of the samples whose meaning
// is documented (iis-domain.md §5), independent of the golden file.
func TestClassifyCorpusVerdicts(t *testing.T) {
	msgs := corpus(t)
	tests := []struct {
		file string
		want Verdict
		code string
	}{
		{"nist-onc2015/ack_z23_AD-1.2_AA.hl7", Accepted, "AA"},
		{"nist-contextfree/ack_z23_example.hl7", Accepted, "AA"},
		{"nist-onc2015/ack_z23_AD-8.2_AE_warning_site.hl7", AcceptedWithWarnings, "AE"},
		{"nist-cni/ack_z23_AD-9.2_AE_two_warnings.hl7", AcceptedWithWarnings, "AE"},
		{"nist-himss-iip-v7/ack_z23_TG5_AE_multiple_warnings.hl7", AcceptedWithWarnings, "AE"},
		{"nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7", Rejected, "AE"},
		{"nist-himss-iip-v7/ack_z23_TG5_AE_fatal_cvx.hl7", Rejected, "AE"},
		{"nist-onc2015/ack_z23_AD-10.2_AR_unsupported_version.hl7", Rejected, "AR"},
		{"state-acks/ack_al_ack_neg.hl7", Rejected, "AE"},         // ERR-1 only, no severity
		{"state-acks/ack_ca_ack_neg.hl7", Rejected, "AE"},         // ERR-4 E
		{"state-acks/ack_il_ack_pos.hl7", Accepted, "AA"},         // ERR 0 I
		{"state-acks/ack_ky_ack_pos.hl7", Accepted, "AA"},         //
		{"state-acks/ack_nm_ack_pos_1.hl7", Accepted, "AA"},       // six MSA/ERR pairs
		{"state-acks/ack_nv_ack_pos.hl7", Accepted, "AA"},         // v2.3.1
		{"state-acks/ack_pa_err_4_missing_1.hl7", Rejected, "AE"}, // ERR-1 only, no severity
		{"state-acks/ack_test_01.hl7", AcceptedWithWarnings, "AA"},
		{"nist-onc2015/rsp_z33_QR-3.2_NF_no_match.hl7", Accepted, "AA"},
		{"state-rsp/rsp_wi_wir_3.hl7", AcceptedWithWarnings, "AE"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, ok := msgs[tc.file]
			if !ok {
				t.Fatal("sample missing")
			}
			c := Classify(b)
			if c.Verdict != tc.want || c.ACKCode != tc.code {
				t.Errorf("got %s/%s, want %s/%s (%s)", c.Verdict, c.ACKCode, tc.want, tc.code, c.Reason)
			}
		})
	}
}

func TestClassifyNISTFatalDetails(t *testing.T) {
	c := Classify(corpus(t)["nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7"])
	want := ACKError{
		Location: "RXA^1^5^1^1", Code: "999", CodeText: "Application error", Severity: "E",
		AppCode: "5", AppCodeText: "Table value not found",
		Message:     "Vaccine code not recognized - message rejected",
		Explanation: "Error in RXA-5 (Administered Code) of the 1st RXA: a code is not in the registry's code table.",
	}
	if len(c.Errors) != 1 || c.Errors[0] != want {
		t.Errorf("errors = %#v", c.Errors)
	}
	if c.ControlID != "NIST-IZ-AD-7.1_Send_V04_Z22" {
		t.Errorf("control id = %q", c.ControlID)
	}
	if !slices.Equal(c.ErrorCodes, []string{"0357:999", "0533:5"}) {
		t.Errorf("error codes = %q", c.ErrorCodes)
	}
	if want := "rejected: AE, 1 error (RXA^1^5^1^1 Table value not found)"; c.Reason != want {
		t.Errorf("reason = %q, want %q", c.Reason, want)
	}
}

// ack builds an ACK from segments joined by CR.
func ack(segs ...string) []byte {
	return []byte(strings.Join(append([]string{"MSH|^~\\&|IIS|STATE|EHR|CLINIC1|20250101||ACK^V04^ACK|A1|P|2.5.1"}, segs...), "\r") + "\r")
}

func TestClassifyRules(t *testing.T) {
	const (
		errE = "ERR||RXA^1^5^1^1|999^Application error^HL70357|E|5^Table value not found^HL70533"
		errW = "ERR||RXR^1^2^1^1|999^Application error^HL70357|W|5^Table value not found^HL70533"
		errI = "ERR|||0^Message accepted^HL70357|I"
		errN = "ERR|||0^Message accepted^HL70357|N"
		errX = "ERR|||207^Application internal error^HL70357|X"
		err0 = "ERR|||207^Application internal error^HL70357"
	)
	lf := bytes.ReplaceAll(ack("MSA|AE|C1", errE), []byte("\r"), []byte("\n"))
	crlf := bytes.ReplaceAll(ack("MSA|AA|C1"), []byte("\r"), []byte("\r\n"))
	tests := []struct {
		name   string
		in     []byte
		want   Verdict
		code   string
		reason string
	}{
		{"AA", ack("MSA|AA|C1"), Accepted, "AA", "accepted: AA"},
		{"AA lower case", ack("MSA|aa|C1"), Accepted, "AA", "accepted: AA"},
		{"CA", ack("MSA|CA|C1"), Accepted, "CA", "accepted: CA"},
		{"AA info", ack("MSA|AA|C1", errI), Accepted, "AA", "accepted: AA, 1 info (Message accepted)"},
		{"AA warning", ack("MSA|AA|C1", errW), AcceptedWithWarnings, "AA", "accepted_with_warnings: AA, 1 warning (RXR^1^2^1^1 Table value not found)"},
		{"AA error", ack("MSA|AA|C1", errE), AcceptedWithWarnings, "AA", "accepted_with_warnings: AA, 1 error (RXA^1^5^1^1 Table value not found)"},
		{"AA no severity", ack("MSA|AA|C1", err0), Accepted, "AA", "accepted: AA, 1 without severity (Application internal error)"},
		{"AR", ack("MSA|AR|C1"), Rejected, "AR", "rejected: AR"},
		{"CR", ack("MSA|CR|C1"), Rejected, "CR", "rejected: CR"},
		{"AE error", ack("MSA|AE|C1", errW, errE), Rejected, "AE", "rejected: AE, 1 error, 1 warning (RXA^1^5^1^1 Table value not found)"},
		{"CE error", ack("MSA|CE|C1", errE), Rejected, "CE", "rejected: CE, 1 error (RXA^1^5^1^1 Table value not found)"},
		{"AE warnings", ack("MSA|AE|C1", errW, errW), AcceptedWithWarnings, "AE", "accepted_with_warnings: AE, 2 warnings (RXR^1^2^1^1 Table value not found)"},
		{"AE info only", ack("MSA|AE|C1", errI), AcceptedWithWarnings, "AE", "accepted_with_warnings: AE, 1 info (Message accepted)"},
		{"AE notice", ack("MSA|AE|C1", errN), AcceptedWithWarnings, "AE", "accepted_with_warnings: AE, 1 info (Message accepted)"},
		{"AE unknown severity", ack("MSA|AE|C1", errX), Rejected, "AE", "rejected: AE, 1 error (Application internal error)"},
		{"AE warning and unrated", ack("MSA|AE|C1", errW, err0), AcceptedWithWarnings, "AE", "accepted_with_warnings: AE, 1 without severity, 1 warning (Application internal error)"},
		{"AE no ERR", ack("MSA|AE|C1"), Rejected, "AE", "rejected: AE; no ERR severity given"},
		{"AE no severity", ack("MSA|AE|C1", err0), Rejected, "AE", "rejected: AE, 1 without severity (Application internal error); no ERR severity given"},
		{"PA ERR-1", ack("MSA|AE", "ERR|^^^207&Application internal error&HL70357"), Rejected, "AE", "rejected: AE, 1 without severity (Application internal error); no ERR severity given"},
		{"AL ERR-1 repeated", ack("MSA|AE|C1", "ERR|MSH^1^5^1006&Required field missing&Symphonia~RXA^1^4^1006&Required field missing&Symphonia|||"), Rejected, "AE", "rejected: AE, 2 without severity (MSH^1^5, local code 1006); no ERR severity given"},
		{"MSA-3 RECORD REJECTED", ack("MSA|AA|C1|RECORD REJECTED"), Rejected, "AA", "rejected: AA; reject phrase in MSA-3"},
		{"MSA-3 message rejected", ack("MSA|AE|C1|Message rejected", errW), Rejected, "AE", "rejected: AE, 1 warning (RXR^1^2^1^1 Table value not found); reject phrase in MSA-3"},
		{"ERR-8 REJECTED", ack("MSA|AA|C1", errW+"|||PID #1 REJECTED"), Rejected, "AA", "rejected: AA, 1 warning (RXR^1^2^1^1 Table value not found); reject phrase in ERR-8"},
		{"not the word", ack("MSA|AA|C1|UNREJECTEDX"), Accepted, "AA", "accepted: AA"},
		{"worst of several MSA", ack("MSA|AA|C1", errI, "MSA|AE|C1", errE, "MSA|AA|C1"), Rejected, "AE", "rejected: AE, 1 error, 1 info (RXA^1^5^1^1 Table value not found); 3 MSA segments, worst used"},
		{"ERR before MSA", ack(errE, "MSA|AE|C1"), Rejected, "AE", "rejected: AE, 1 error (RXA^1^5^1^1 Table value not found)"},
		{"unknown MSA-1", ack("MSA|ZZ|C1"), Unknown, "", "unknown: MSA-1 not an acknowledgement code"},
		{"empty MSA-1", ack("MSA||C1"), Unknown, "", "unknown: MSA-1 not an acknowledgement code"},
		{"no MSA", ack(errE), Unknown, "", "unknown: no MSA segment"},
		{"RSP AE fatal", []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC1|20250101||RSP^K11^RSP_K11|R1|P|2.5.1\rMSA|AE|Q1\r" + errE + "\rQAK|Q1|AE|Z44\r"), Rejected, "AE", "rejected: AE, 1 error (RXA^1^5^1^1 Table value not found)"},
		{"VXU", []byte("MSH|^~\\&|EHR|CLINIC1|IIS|STATE|20250101||VXU^V04^VXU_V04|V1|P|2.5.1\rMSA|AA|C1\r"), Unknown, "", "unknown: message type is not ACK or RSP"},
		{"LF terminated", lf, Rejected, "AE", "rejected: AE, 1 error (RXA^1^5^1^1 Table value not found)"},
		{"CRLF terminated", crlf, Accepted, "AA", "accepted: AA"},
		{"MLLP framed", append(append([]byte{0x0b}, ack("MSA|AA|C1")...), 0x1c, '\r'), Accepted, "AA", "accepted: AA"},
		{"batch wrapped", []byte("FHS|^~\\&|IIS\rBHS|^~\\&|IIS\r" + string(ack("MSA|AA|C1")) + "BTS|1\rFTS|1\r"), Accepted, "AA", "accepted: AA"},
		{"garbage", []byte("SUCCESS"), Unknown, "", "unknown: not an HL7 message (hl7: message does not start with MSH)"},
		{"empty", nil, Unknown, "", "unknown: not an HL7 message (hl7: empty message)"},
		{"binary", []byte{0xff, 0xfe, 0, 1, 2}, Unknown, "", "unknown: not an HL7 message (hl7: message does not start with MSH)"},
		{"SOAP fault", []byte("<soap:Envelope><soap:Body><soap:Fault/></soap:Body></soap:Envelope>"), Unknown, "", "unknown: not an HL7 message (hl7: message does not start with MSH)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Classify(tc.in)
			if c.Verdict != tc.want || c.ACKCode != tc.code || c.Reason != tc.reason {
				t.Errorf("got %s %q %q\nwant %s %q %q", c.Verdict, c.ACKCode, c.Reason, tc.want, tc.code, tc.reason)
			}
		})
	}
}

func TestClassifyERR1Fallback(t *testing.T) {
	c := Classify(ack("MSA|AE", "ERR|^^^207&Application internal error&HL70357"))
	want := []ACKError{{Code: "207", CodeText: "Application internal error",
		Explanation: "Problem (no severity given): the registry had an internal error while processing the message."}}
	if !slices.Equal(c.Errors, want) || !slices.Equal(c.ErrorCodes, []string{"0357:207"}) || c.ControlID != "" {
		t.Errorf("got %#v %q %q", c.Errors, c.ErrorCodes, c.ControlID)
	}
	// ERR-2/ERR-3 present: ERR-1 is ignored.
	c = Classify(ack("MSA|AE|C1", "ERR|MSH^1^5^1006&x&y|PID^1^7|102^Data type error^HL70357|W"))
	if len(c.Errors) != 1 || c.Errors[0].Location != "PID^1^7" || c.Errors[0].Code != "102" {
		t.Errorf("got %#v", c.Errors)
	}
}

func TestClassifyErrorCodes(t *testing.T) {
	c := Classify(ack("MSA|AE|C1",
		"ERR||RXA^1^5|103^Table value not found^HL70357|W|5^Table value not found^HL70533",
		"ERR|||101^Required field missing^HL70357|W|^^^DQA0051^PV1 missing^HL70533",
		"ERR|||101|W|2^Invalid Date^HL70533^101.1118^Invalid Birth Date^L",
		"ERR|||^Free text code ZZTEST^HL70357|W|X1^local^99LOCAL",
		"ERR|||103^Table value not found^HL70357|W|5^Table value not found^HL70533"))
	want := []string{"0357:101", "0357:103", "0533:2", "0533:5", "local:DQA0051", "local:X1"}
	if !slices.Equal(c.ErrorCodes, want) {
		t.Errorf("error codes = %q, want %q", c.ErrorCodes, want)
	}
}

func TestClassifyMessageFallsBackToMSA3(t *testing.T) {
	c := Classify(ack("MSA|AA|C1|NO VALUE STORED.", "ERR||OBX^2^3^0|204^Unknown key identifier^HL70357",
		"MSA|AA|C1|Informational", "ERR|||^^HL70357|||||Own text"))
	if len(c.Errors) != 2 || c.Errors[0].Message != "NO VALUE STORED." || c.Errors[1].Message != "Own text" {
		t.Errorf("got %+v", c.Errors)
	}
	if c.Text != "NO VALUE STORED." {
		t.Errorf("text = %q", c.Text)
	}
}

// TestClassifyCanary feeds PHI markers through every free-text and
// code-shaped field of an ACK and checks they reach only Errors and Text.
func TestClassifyCanary(t *testing.T) {
	markers := []string{"ZZTEST", "PAT123", "20200101"}
	inputs := [][]byte{
		ack("MSA|AE|C1|ZZTEST ALICE PAT123 born 20200101",
			"ERR||PID^1^5|^Invalid name ZZTEST ALICE^HL70357|E|^PAT123 not valid^HL70533^^DOB 20200101^L|||Patient ZZTEST PAT123 20200101 rejected"),
		ack("MSA|AE|C1", "ERR||PID^20200101^ZZTEST|ZZTEST^x|ZZTEST|PAT123 ZZTEST^^^ZZTEST PAT123"),
		ack("MSA|AE|C1", "ERR|PID^1^3^ZZTEST PAT123&ZZTEST text&HL70357"),
		ack("MSA|ZZTEST|C1"),
		[]byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC1|20250101||ZZTEST^V04|A1|P|2.5.1\rPID|1||PAT123||ZZTEST^ALICE||20200101\r"),
		[]byte("PID|1||PAT123||ZZTEST^ALICE||20200101\r"),
		[]byte("MSH|^~\\&|IIS|STATE\rPID|1||PAT123||ZZTEST^ALICE||20200101\rZZ\x01TEST\r"),
	}
	for i, in := range inputs {
		c := Classify(in)
		safe := []string{c.Reason, c.ACKCode, strings.Join(c.ErrorCodes, " "),
			fmt.Sprintf("%v|%+v|%#v|%s|%q", c, c, c, c, c), fmt.Sprintf("%v|%+v|%#v", c.Errors, c.Errors, c.Errors)}
		for _, s := range safe {
			for _, mk := range markers {
				if strings.Contains(s, mk) {
					t.Errorf("input %d: marker %s leaked: %s", i, mk, s)
				}
			}
		}
	}
}

func TestClassifyDoesNotModifyInput(t *testing.T) {
	in := ack("MSA|AE|C1", "ERR||RXA^1^5^1^1|999^Application error^HL70357|E")
	framed := append(append([]byte{0x0b}, in...), 0x1c, '\r')
	before := bytes.Clone(framed)
	Classify(framed)
	if !bytes.Equal(before, framed) {
		t.Error("Classify modified its input")
	}
}

func FuzzClassify(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Add([]byte("MSH|^~\\&|A\rMSA|AE\rERR|^^^207&x&HL70357~~^^^&&\r"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Classify(b)
		switch c.Verdict {
		case Accepted, AcceptedWithWarnings, Rejected, Unknown:
		default:
			t.Fatalf("verdict %q", c.Verdict)
		}
		if c.Reason == "" || !strings.HasPrefix(c.Reason, string(c.Verdict)+":") {
			t.Fatalf("reason %q for %s", c.Reason, c.Verdict)
		}
		if !slices.IsSorted(c.ErrorCodes) {
			t.Fatalf("error codes not sorted: %q", c.ErrorCodes)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	msgs := corpus(b)
	for _, name := range []string{
		"nist-onc2015/ack_z23_AD-1.2_AA.hl7",
		"nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7",
		"state-acks/ack_test_01.hl7",
		"nist-himss-iip-v7/rsp_z42_TG2_vazquez_reconcile_scenario.hl7",
	} {
		in := msgs[name]
		b.Run(strings.TrimSuffix(filepath.Base(name), ".hl7"), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				Classify(in)
			}
		})
	}
}
