package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const messagesDir = "../../testdata/messages"

// canaryVXU is a synthetic message with the project's PHI canary markers.
const canaryVXU = "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|CANARY-1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PAT123^^^CLINIC^MR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
	"ORC|RE||9999^CLINIC\r" +
	"RXA|0|1|20250101||08^Hep B^CVX|999||01^Historical^NIP001||||||||||CP|A\r"

func TestInspectGolden(t *testing.T) {
	tests := []struct{ name, file string }{
		{"vxu_multi_rxa", "nist-onc2015/vxu_z22_AD-1.1_multi_rxa_ndc_plus_historical.hl7"},
		{"ack_fatal", "nist-cni/ack_z23_AD-7.2_AE_error_cvx_not_recognized.hl7"},
		{"ack_pa_err1", "state-acks/ack_pa_err_4_missing_1.hl7"},
		{"qbp_z44", "nist-onc2015/qbp_z44_QR-1.1.hl7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iisync(t, "", "inspect", filepath.Join(messagesDir, tc.file))
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, "inspect/"+tc.name+".txt", strings.ReplaceAll(r.stdout, messagesDir+"/", ""))
		})
	}
}

// TestInspectGetEveryMessage reads the key fields of every sample message
// through the command line and pins them in one golden file.
func TestInspectGetEveryMessage(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(messagesDir, "*", "*.hl7"))
	if err != nil || len(files) < 50 {
		t.Fatalf("found %d sample messages (%v); testdata/messages is incomplete", len(files), err)
	}
	slices.Sort(files)
	var b strings.Builder
	for _, f := range files {
		r := iisync(t, "", "inspect", "--get", "MSH-9", "--get", "MSH-10", "--get", "PID-3.1", "--get", "PID-5.1",
			"--get", "RXA-5.1", "--get", "MSA-1", "--get", "MSA-2", f)
		if r.code != 0 {
			t.Errorf("%s: exit %d: %s", f, r.code, r.stderr)
			continue
		}
		b.WriteString(strings.TrimPrefix(f, messagesDir+"/") + "\t" + r.stdout)
	}
	golden(t, "inspect/get_every_message.tsv", b.String())
}

func TestInspectInputShapes(t *testing.T) {
	two := canaryVXU + strings.Replace(canaryVXU, "CANARY-1", "CANARY-2", 1)
	tests := []struct {
		name  string
		input string
		want  string // --get MSH-10 output
	}{
		{"CR", two, "CANARY-1\nCANARY-2\n"},
		{"LF", strings.ReplaceAll(two, "\r", "\n"), "CANARY-1\nCANARY-2\n"},
		{"CRLF", strings.ReplaceAll(two, "\r", "\r\n"), "CANARY-1\nCANARY-2\n"},
		{"MLLP framed", "\x0b" + canaryVXU + "\x1c\r\x0b" + strings.Replace(canaryVXU, "CANARY-1", "CANARY-2", 1) + "\x1c\r", "CANARY-1\nCANARY-2\n"},
		{"batch", "FHS|^~\\&|EHR\rBHS|^~\\&|EHR\r" + two + "BTS|2\rFTS|1\r", "CANARY-1\nCANARY-2\n"},
		{"blank lines and spaces", "\n\n  " + strings.ReplaceAll(canaryVXU, "\r", "\n") + "\n\n", "CANARY-1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iisync(t, tc.input, "inspect", "-", "--get", "MSH-10")
			if r.code != 0 || r.stdout != tc.want {
				t.Errorf("exit %d stdout %q stderr %q; want %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
}

func TestInspectGetPaths(t *testing.T) {
	f := writeFile(t, "m.hl7", canaryVXU)
	r := iisync(t, "", "inspect", f, "--get", "PID-5.1", "--get", "PID-3[1].4", "--get", "RXA[1]-5.1", "--get", "MSH-1", "--get", "MSH-2", "--get", "PID-99")
	want := "ZZTEST\tCLINIC\t08\t|\t^~\\&\t\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("got %q (exit %d, %s), want %q", r.stdout, r.code, r.stderr, want)
	}
}

func TestInspectJSON(t *testing.T) {
	f := writeFile(t, "m.hl7", canaryVXU)
	r := iisync(t, "", "inspect", "--json", f)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var docs []inspectDoc
	if err := json.Unmarshal([]byte(r.stdout), &docs); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(docs) != 1 || docs[0].ControlID != "CANARY-1" || docs[0].Type != "VXU^V04^VXU_V04" || len(docs[0].Segments) != 4 {
		t.Fatalf("unexpected document: %+v", docs)
	}
	pid := docs[0].Segments[1]
	if pid.Name != "PID" || pid.Title != "Patient Identification" {
		t.Fatalf("PID segment: %+v", pid)
	}
	var name *fieldDoc
	for i := range pid.Fields {
		if pid.Fields[i].Field == 5 {
			name = &pid.Fields[i]
		}
	}
	if name == nil || name.Name != "Patient Name" || len(name.Values) != 1 || !strings.HasPrefix(name.Values[0], "ZZTEST^") {
		t.Fatalf("PID-5: %+v", name)
	}
}

func TestInspectParseErrorGivesPositionNotContent(t *testing.T) {
	bad := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|BAD-1|P|2.5.1\rPID|1||PAT123^^^X^MR||ZZTEST^BAD\rrx|bad segment id ZZTEST\r"
	f := writeFile(t, "bad.hl7", canaryVXU+bad)
	r := iisync(t, "", "inspect", "--get", "MSH-10", f)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	if r.stdout != "CANARY-1\n" {
		t.Errorf("the good message should still print: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "bad.hl7 #2") || !strings.Contains(r.stderr, "hl7:") {
		t.Errorf("stderr lacks file, index or position: %q", r.stderr)
	}
	for _, canary := range []string{"ZZTEST", "PAT123"} {
		if strings.Contains(r.stderr, canary) {
			t.Errorf("error output leaks %s: %q", canary, r.stderr)
		}
	}
}

func TestInspectMissingFile(t *testing.T) {
	r := iisync(t, "", "inspect", filepath.Join(t.TempDir(), "nope.hl7"))
	if r.code != 1 || !strings.Contains(r.stderr, "nope.hl7") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(messagesDir); err != nil {
		t.Fatalf("project testdata missing: %v", err)
	}
}
