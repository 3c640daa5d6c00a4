package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStepFiles: a map step's table_file and a script step's file are read
// relative to the configuration file, and problems are reported at the
// step's path.
func TestStepFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tables/facility.csv", "from,to\nCLINIC1,ORG1\n# a comment\nCLINIC2,ORG2\n")
	write("fix.star", "def transform(msg):\n    msg.set(\"MSH-6\", \"X\")\n")
	write("bad.csv", "just-one-field\n")
	channel := func(steps string) string {
		return "storage: {key_file: store.key}\nsecurity: {patient_ref_key_file: ref.key}\nchannels:\n  - name: c\n    source: {mllp: {addr: 127.0.0.1:2999}}\n    transforms:\n" + steps +
			"    destinations: [{name: f, file: {dir: out}}]\n"
	}
	f, err := Parse([]byte(channel("      - map: {path: MSH-4.1, table_file: tables/facility.csv}\n      - script: {file: fix.star}\n")), "c.yaml", dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := f.Channels[0].Transforms
	if got := steps[0].Map.Table; len(got) != 2 || got["CLINIC2"] != "ORG2" {
		t.Errorf("table %v", got)
	}
	if !strings.Contains(steps[1].Script.Source, "def transform") {
		t.Errorf("script source %q", steps[1].Script.Source)
	}

	for _, tc := range []struct{ steps, want string }{
		{"      - map: {path: MSH-4.1, table_file: missing.csv}\n", "channels[0].transforms[0].map.table_file"},
		{"      - map: {path: MSH-4.1, table_file: bad.csv}\n", "bad.csv: mapping: table csv: line 1"},
		{"      - map: {path: MSH-4.1, table: {A: B}, table_file: tables/facility.csv}\n", "give table or table_file, not both"},
		{"      - script: {file: missing.star}\n", "channels[0].transforms[0].script.file"},
		{"      - script: {file: fix.star, source: 'def transform(m): pass'}\n", "give source or file, not both"},
	} {
		_, err := Parse([]byte(channel(tc.steps)), "c.yaml", dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", strings.TrimSpace(tc.steps), err, tc.want)
		}
	}
}
