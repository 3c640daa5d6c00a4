package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis/codes"
)

// TestCodesUpdate: a CDC cvx.xml with a new code is checked, its changes
// listed and written to the codes directory; a channel whose configuration
// names that directory then knows the code (here: `iisync try`, whose
// pre-flight validation no longer calls it unknown).
func TestCodesUpdate(t *testing.T) {
	t.Cleanup(func() { _ = codes.Override(nil) }) // the embedded tables again
	dir := t.TempDir()
	cvx, err := os.ReadFile("../../transforms/iis/codes/testdata/cdc/cvx.xml")
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(string(cvx), "<CVXCodes>", "<CVXCodes>\n  <CVXInfo>\n    <ShortDescription>Zztest vaccine</ShortDescription>\n"+
		"    <FullVaccinename>Zztest vaccine, full</FullVaccinename>\n    <CVXCode>777</CVXCode>\n    <Notes/>\n    <Status>Active</Status>\n"+
		"    <LastUpdated>11/25/2026</LastUpdated>\n  </CVXInfo>", 1)
	newFile := filepath.Join(dir, "cvx.xml")
	if err := os.WriteFile(newFile, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	codesDir := filepath.Join(dir, "codes")
	r := iisync(t, "", "codes", "update", "--dir", codesDir, newFile)
	if r.code != 0 || !strings.Contains(r.stdout, "777 added") || !strings.Contains(r.stdout, "wrote "+filepath.Join(codesDir, "cvx.tsv")) {
		t.Fatalf("codes update: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	_ = codes.Override(nil) // as a fresh process: only the directory can teach it 777

	demo, err := os.ReadFile("../../conf/examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(demo), "codes_dir: ./var/codes", "codes_dir: "+codesDir, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := os.ReadFile("../../testdata/demo/1_accepted.hl7")
	if err != nil {
		t.Fatal(err)
	}
	vxu := filepath.Join(dir, "vxu.hl7")
	if err := os.WriteFile(vxu, []byte(strings.Replace(string(msg), "|20^DTaP^CVX|", "|777^Zztest^CVX|", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = iisync(t, "", "try", "-c", cfg, vxu)
	if r.code != 0 || strings.Contains(r.stdout, "vaccine_code_unknown") || !strings.Contains(r.stdout, ": queued") {
		t.Errorf("try with the updated tables: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if r := iisync(t, "", "codes", "update", "--dir", codesDir, "../../testdata/demo/1_accepted.hl7"); r.code != 1 || !strings.Contains(r.stderr, "unknown code file") {
		t.Errorf("a file that is not a CDC code file: exit %d %s", r.code, r.stderr)
	}
}
