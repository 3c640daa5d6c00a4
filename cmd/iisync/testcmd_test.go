package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleChannelTests: the channel tests next to the example
// configurations pass (issue 5: `make test` runs them).
func TestExampleChannelTests(t *testing.T) {
	r := iisync(t, "", "test", "-v", "../../conf/examples")
	if r.code != 0 || strings.Contains(r.stdout, "FAIL") || !strings.Contains(r.stdout, ", 0 failed") {
		t.Fatalf("iisync test conf/examples: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestTestCommandReportsDifferences: a case whose expectations are wrong
// fails with exit 1 and says, per expectation, what it got.
func TestTestCommandReportsDifferences(t *testing.T) {
	dir := t.TempDir()
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	file := filepath.Join(dir, "bad.test.yaml")
	body := "config: " + abs("../../conf/examples/demo.yaml") + "\nchannel: ehr-vxu\ntests:\n" +
		"  - name: wrong\n    message: " + abs("../../testdata/demo/2_accepted_with_warnings.hl7") + "\n" +
		"    expect:\n      outcome: rejected\n      ack: AE\n      fields: {MSH-6: STATE}\n      segments: {OBX: 3}\n" +
		"      findings: [{rule: mqe.dose_in_future, severity: error}, {rule: mqe.address_missing, severity: warning}]\n" +
		"      registry: {destination: iis, reply: " + abs("../../testdata/messages/nist-onc2015/ack_z23_AD-1.2_AA.hl7") + ", verdict: rejected}\n" +
		"  - name: right\n    message: " + abs("../../testdata/demo/1_accepted.hl7") + "\n    expect: {outcome: queued}\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := iisync(t, "", "test", file)
	want := []string{
		"FAIL  wrong",
		"outcome: got queued, want rejected",
		"ack: got AA, want AE",
		`MSH-6: got "DEMO-IIS", want "STATE"`,
		"segments OBX: got 0, want 3",
		"findings missing: mqe.dose_in_future (error)",
		"findings not expected: mqe.vfc_obx_missing (warning)",
		"registry verdict: got accepted",
		"2 cases in 1 files, 1 failed",
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "PASS  right") {
		t.Error("passing cases are listed without -v")
	}
}

// TestTestCommandBadFile: an unknown key or a missing configuration is an
// error of the file (exit 2), not a failed case.
func TestTestCommandBadFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown-key.test.yaml": "config: x.yaml\nchannel: c\ntests:\n  - name: a\n    text: MSH\n    expect: {outcom: queued}\n",
		"no-config.test.yaml":   "config: missing.yaml\nchannel: c\ntests:\n  - name: a\n    text: MSH\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := iisync(t, "", "test", dir)
	if r.code != 2 || strings.Count(r.stdout, "ERROR") != 2 {
		t.Errorf("exit %d, want 2 with two ERRORs:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestTry: the playground shows the outcome, the changes, the findings and
// the ACK of each message, and nothing is stored.
func TestTry(t *testing.T) {
	r := iisync(t, "", "try", "-c", "../../conf/examples/demo.yaml",
		"../../testdata/messages/nist-himss-iip-v7/vxu_z22_TG3_marina_history_evidence_of_immunity.hl7",
		"../../testdata/demo/2_accepted_with_warnings.hl7")
	for _, w := range []string{
		"vxu_z22_TG3_marina_history_evidence_of_immunity.hl7 #1: rejected",
		`changed  MSH-6      "NIST Test Iz Reg" -> "DEMO-IIS"`,
		"error    RXA^6^3      mqe.dose_before_birth",
		"ack      MSA|AE|NIST-IZ-001.00",
		"ack      ERR||RXA^6^3|999^Application error^HL70357|E|1^Illogical Date error^HL70533",
		"2_accepted_with_warnings.hl7 #1: queued",
		"warning  PID^1^11     mqe.address_missing",
		"ack      MSA|AA|DEMO-0002",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("try output lacks %q:\n%s", w, r.stdout)
		}
	}
	if r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat("var"); err == nil {
		t.Error("try created ./var")
	}
	r = iisync(t, "", "try", "-c", "../../conf/examples/demo.yaml", "--json", "../../testdata/demo/3_rejected_unknown_cvx.hl7")
	if !strings.Contains(r.stdout, `"outcome":"rejected"`) || !strings.Contains(r.stdout, `mqe.vaccine_code_unknown`) {
		t.Errorf("try --json:\n%s", r.stdout)
	}
}

// TestRules lists every rule with a severity.
func TestRules(t *testing.T) {
	r := iisync(t, "", "rules")
	if r.code != 0 || !strings.Contains(r.stdout, "mqe.dose_before_birth") || !strings.Contains(r.stdout, "profile.usage") {
		t.Errorf("rules: exit %d\n%s", r.code, r.stdout)
	}
}
