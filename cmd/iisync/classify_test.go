package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis"
)

// responseSamples lists every ACK and RSP under testdata/messages, sorted.
func responseSamples(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"*/ack_*.hl7", "*/rsp_*.hl7"} {
		m, err := filepath.Glob(filepath.Join(messagesDir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("found only %d ACK/RSP samples; testdata/messages is incomplete", len(files))
	}
	slices.Sort(files)
	return files
}

// TestClassifyGolden classifies every sample ACK and RSP in one run, as text
// and as JSON. Regenerate with -update and review each verdict against
// shared docs/iis-domain.md §5 (TestClassifySampleVerdicts pins the documented
// ones independently).
func TestClassifyGolden(t *testing.T) {
	files := responseSamples(t)
	for _, tc := range []struct {
		name  string
		flags []string
	}{{"samples.golden", nil}, {"samples_json.golden", []string{"--json"}}} {
		t.Run(tc.name, func(t *testing.T) {
			r := iisync(t, "", append(append([]string{"classify"}, tc.flags...), files...)...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, "classify/"+tc.name, strings.ReplaceAll(r.stdout, messagesDir+"/", ""))
		})
	}
}

// TestClassifySampleVerdicts pins the verdict line of the samples whose
// meaning shared docs/iis-domain.md §5 documents.
func TestClassifySampleVerdicts(t *testing.T) {
	tests := []struct{ file, line string }{
		{"nist-onc2015/ack_z23_AD-1.2_AA.hl7", "accepted\t{}\tAA\tNIST-IZ-AD-1.1_Send_V04_Z22\t-"},
		{"nist-onc2015/ack_z23_AD-8.2_AE_warning_site.hl7", "accepted_with_warnings\t{}\tAE\tNIST-IZ-AD-8.1_Send_V04_Z22\t1 warning (RXR^1^2^1^1 Table value not found)"},
		{"nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7", "rejected\t{}\tAE\tNIST-IZ-AD-7.1_Send_V04_Z22\t1 error (RXA^1^5^1^1 Table value not found)"},
		{"nist-onc2015/ack_z23_AD-10.2_AR_unsupported_version.hl7", "rejected\t{}\tAR\tNIST-IZ-AD-10.1_Send_V04_Z22\t1 error (MSH^12^1^1 Unsupported version ID)"},
		{"state-acks/ack_pa_err_4_missing_1.hl7", "rejected\t{}\tAE\t-\t1 without severity (Application internal error); no ERR severity given"},
		{"state-acks/ack_al_ack_neg.hl7", "rejected\t{}\tAE\tNIST-IZ-001.0B0\t2 without severity (MSH^1^5, local code 1006); no ERR severity given"},
		{"state-acks/ack_test_01.hl7", "accepted_with_warnings\t{}\tAA\t4904500-I.001.493\t4 warnings, 1 info (Required field missing, local code DQA0051)"},
		{"state-acks/ack_il_ack_pos.hl7", "accepted\t{}\tAA\tNIST-IZ-001.00\t1 info (Message accepted)"},
		{"state-rsp/rsp_wi_wir_3.hl7", "accepted_with_warnings\t{}\tAE\tbk4tkz\t1 warning (MSH^1^6^1 Invalid value)"},
		{"nist-onc2015/rsp_z33_QR-3.2_NF_no_match.hl7", "accepted\t{}\tAA\tNIST-IZ-QR-3.1_Query_Q11_Z44\t-"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f := filepath.Join(messagesDir, tc.file)
			r := iisync(t, "", "classify", f)
			first, _, _ := strings.Cut(r.stdout, "\n")
			if want := strings.Replace(tc.line, "{}", f, 1); r.code != 0 || first != want {
				t.Errorf("exit %d, first line\n %q\nwant\n %q", r.code, first, want)
			}
		})
	}
}

func TestClassifyErrorLine(t *testing.T) {
	r := iisync(t, "", "classify", filepath.Join(messagesDir, "nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7"))
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := "  RXA^1^5^1^1\t999\tE\t5\tError in RXA-5 (Administered Code) of the 1st RXA: a code is not in the registry's code table.\t" +
		`"Vaccine code not recognized - message rejected"`
	if r.code != 0 || len(lines) != 2 || lines[1] != want {
		t.Errorf("exit %d, lines %q\nwant second %q", r.code, lines, want)
	}
}

// canaryReplies are three responses with the PHI canary markers in the
// registry's texts.
var canaryReplies = []string{
	"MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A1|P|2.5.1\r" +
		"MSA|AE|CANARY-1\r" +
		"ERR||PID^1^5^1^1|101^Required field missing^HL70357|E|7^Required data missing^HL70533|||Name ZZTEST missing for PAT123\r",
	"MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||ACK^V04^ACK|A2|P|2.5.1\r" +
		"MSA|AA|CANARY-2|RECORD REJECTED: ZZTEST born 20200101\r",
	"MSH|^~\\&|IIS|STATE|EHR|CLINIC|20250101||RSP^K11^RSP_K11|A3|P|2.5.1\n" +
		"MSA|AA|CANARY-3|Message accepted with warnings\n" +
		"QAK|Q1|OK|Z44\n",
}

// canaryACKs holds canaryReplies separated by blank lines.
var canaryACKs = strings.Join(canaryReplies, "\n\n")

func TestClassifyStdin(t *testing.T) {
	want := "rejected\t- #1\tAE\tCANARY-1\t1 error (PID^1^5^1^1 Required data missing)\n" +
		"  PID^1^5^1^1\t101\tE\t7\tError in PID-5 (Patient Name) of the 1st PID: required data is missing.\t\"Name ZZTEST missing for PAT123\"\n" +
		"rejected\t- #2\tAA\tCANARY-2\treject phrase in MSA-3\n" +
		"accepted_with_warnings\t- #3\tAA\tCANARY-3\twarning phrase in MSA-3\n"
	mllpFramed := ""
	for _, m := range canaryReplies {
		mllpFramed += "\x0b" + m + "\x1c\r"
	}
	batch := "FHS|^~\\&|IIS\rBHS|^~\\&|IIS\r" + strings.Join(canaryReplies, "") + "BTS|3\rFTS|1\r"
	for _, tc := range []struct {
		name, input string
		args        []string
	}{
		{"no file, blank lines", canaryACKs, []string{"classify"}},
		{"dash, MLLP frames", mllpFramed, []string{"classify", "-"}},
		{"dash, batch", batch, []string{"classify", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := iisync(t, tc.input, tc.args...)
			if r.code != 0 || r.stdout != want || r.stderr != "" {
				t.Errorf("exit %d stderr %q stdout\n%s\nwant\n%s", r.code, r.stderr, r.stdout, want)
			}
			// Registry text appears only in the quoted last column of error lines.
			for line := range strings.Lines(r.stdout) {
				cols := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
				safe := strings.Join(cols, "\t")
				if strings.HasPrefix(line, "  ") {
					safe = strings.Join(cols[:len(cols)-1], "\t")
				}
				for _, mk := range []string{"ZZTEST", "PAT123", "20200101"} {
					if strings.Contains(safe, mk) {
						t.Errorf("marker %s outside the ERR-8 column: %q", mk, line)
					}
				}
			}
		})
	}
}

func TestClassifyJSON(t *testing.T) {
	r := iisync(t, canaryACKs, "classify", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var docs []classifyDoc
	for line := range strings.Lines(r.stdout) {
		var d classifyDoc
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, r.stdout)
		}
		docs = append(docs, d)
	}
	if len(docs) != 3 {
		t.Fatalf("got %d objects", len(docs))
	}
	c := docs[0].Classification
	if docs[0].File != "-" || docs[0].Index != 1 || c.Verdict != iis.Rejected || c.ControlID != "CANARY-1" ||
		len(c.Errors) != 1 || c.Errors[0].Explanation != "Error in PID-5 (Patient Name) of the 1st PID: required data is missing." ||
		!slices.Equal(c.ErrorCodes, []string{"0357:101", "0533:7"}) {
		t.Errorf("first object %+v %+v", docs[0], c.Errors)
	}
	if docs[1].Index != 2 || docs[1].Classification.Verdict != iis.Rejected || docs[2].Classification.Verdict != iis.AcceptedWithWarnings {
		t.Errorf("verdicts %s %s", docs[1].Classification.Verdict, docs[2].Classification.Verdict)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"file", "index", "classification"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("key %q missing: %v", k, raw)
		}
	}
}

// TestClassifyRules runs NMSIIS's positive ACK with and without its phrase
// rules: the six "NO VALUE STORED"/informational MSA texts make it
// accepted_with_warnings only under the rules.
func TestClassifyRules(t *testing.T) {
	nm := filepath.Join(messagesDir, "state-acks/ack_nm_ack_pos_1.hl7")
	rules := filepath.Join("testdata", "classify", "nmsiis_rules.yaml")
	r := iisync(t, "", "classify", "--rules", rules, nm)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	golden(t, "classify/nmsiis_rules.golden", strings.ReplaceAll(r.stdout, messagesDir+"/", ""))
	if !strings.HasPrefix(r.stdout, "accepted_with_warnings\t") {
		t.Errorf("with rules: %s", r.stdout)
	}
	if r := iisync(t, "", "classify", nm); !strings.HasPrefix(r.stdout, "accepted\t") {
		t.Errorf("without rules: %s", r.stdout)
	}
	// Flags may follow the files.
	rej := writeFile(t, "nm.hl7", "MSH|^~\\&|NMSIIS|NMSIIS||908|20250101||ACK|A1|P|2.5.1\rMSA|AA|C1|WARNING: RXA #1 IGNORED - REQUIRED FIELD RXA-5\r")
	if r := iisync(t, "", "classify", rej, "--rules", rules); r.code != 0 || !strings.HasPrefix(r.stdout, "rejected\t") {
		t.Errorf("RXA ignored: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestClassifyBadRules(t *testing.T) {
	tests := []struct {
		name, yaml string
		err        string
	}{
		{"unknown key", "reject_phrases: [x]\nwarnings: [y]\n", "line 2: field warnings not found"},
		{"empty phrase", "reject_phrases: [ok, '']\n", "reject_phrases[1]: must not be empty"},
		{"not YAML", "reject_phrases: [\n", "yaml:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, "rules.yaml", tc.yaml)
			r := iisync(t, "", "classify", "--rules", f, filepath.Join(messagesDir, "nist-onc2015/ack_z23_AD-1.2_AA.hl7"))
			if r.code != 2 || !strings.Contains(r.stderr, "iisync classify: --rules ") || !strings.Contains(r.stderr, tc.err) || r.stdout != "" {
				t.Errorf("exit %d stdout %q stderr %q; want 2 with %q", r.code, r.stdout, r.stderr, tc.err)
			}
		})
	}
	r := iisync(t, "", "classify", "--rules", filepath.Join(t.TempDir(), "none.yaml"))
	if r.code != 2 || !strings.Contains(r.stderr, "none.yaml") {
		t.Errorf("missing rules file: exit %d %q", r.code, r.stderr)
	}
	if r := iisync(t, "", "classify", "--rules", writeFile(t, "empty.yaml", "# nothing\n"), "-"); r.code != 0 {
		t.Errorf("empty rules file: exit %d %q", r.code, r.stderr)
	}
}

func TestClassifyUnreadableFile(t *testing.T) {
	good := filepath.Join(messagesDir, "nist-onc2015/ack_z23_AD-1.2_AA.hl7")
	missing := filepath.Join(t.TempDir(), "nope.hl7")
	r := iisync(t, "", "classify", missing, good, t.TempDir())
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if !strings.HasPrefix(r.stdout, "accepted\t"+good+"\t") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("the readable file should still be classified: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "iisync classify: ") || !strings.Contains(r.stderr, "nope.hl7") || strings.Count(r.stderr, "\n") != 2 {
		t.Errorf("stderr should name both unreadable files: %q", r.stderr)
	}
}

func TestClassifyNotHL7(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"plain text", "SUCCESS\n", "unknown\t{}\t-\t-\tnot an HL7 message (hl7: message does not start with MSH)\n"},
		{"empty", "", "unknown\t{}\t-\t-\tnot an HL7 message (hl7: empty message)\n"},
		{"a VXU", canaryVXU, "unknown\t{}\t-\t-\tmessage type is not ACK or RSP\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, "reply.txt", tc.content)
			r := iisync(t, "", "classify", f)
			if want := strings.Replace(tc.want, "{}", f, 1); r.code != 0 || r.stdout != want {
				t.Errorf("exit %d stdout %q, want %q (%s)", r.code, r.stdout, want, r.stderr)
			}
		})
	}
}

func TestClassifyUsage(t *testing.T) {
	for _, args := range [][]string{{"classify", "-h"}, {"classify", "--frob"}} {
		r := iisync(t, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "usage: iisync classify") {
			t.Errorf("%v: exit %d stderr %q", args, r.code, r.stderr)
		}
	}
	if r := iisync(t, "", "help"); !strings.Contains(r.stderr, "  classify  ") {
		t.Errorf("classify missing from the command list: %q", r.stderr)
	}
}
