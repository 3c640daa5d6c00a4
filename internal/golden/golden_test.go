package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing, so
// the tests can check what Check reports. Its Fatalf returns, unlike the
// real one; nothing here reaches it.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, "fatal: "+fmt.Sprintf(format, args...))
}

// setUpdate sets -update for one test, so that running this package with
// -update neither rewrites nor skips the mismatches below.
func setUpdate(t *testing.T, v bool) {
	old := *update
	*update = v
	t.Cleanup(func() { *update = old })
}

func TestCheckReports(t *testing.T) {
	setUpdate(t, false)
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name, want, got string
		report          []string // substrings of the one failure; none: no failure
	}{
		{"equal", "a\nb\n", "a\nb\n", nil},
		{"line", "one\ntwo\nthree\n", "one\nTWO\nthree\n",
			[]string{"differs at line 2:", `want: "two\n"`, ` got: "TWO\n"`, "rerun with -update and review the diff"}},
		{"hl7 segments", "MSH|a\rPID|x\rRXA|1\r", "MSH|a\rPID|y\rRXA|1\r",
			[]string{"line 2:", `want: "PID|x\r"`, `got: "PID|y\r"`}},
		{"line end", "a\r\nb\r\n", "a\nb\n", []string{"line 1:", `want: "a\r\n"`, `got: "a\n"`}},
		{"got longer", "a\n", "a\nb\n", []string{"line 2:", "want: (end of file)", `got: "b\n"`}},
		{"long line", long + "\n", long[:500] + "y" + long[501:] + "\n",
			[]string{"line 1:", `want: ..."xxxxxxx`, `got: ..."xxxxxxx`, "y", `x"...`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.golden")
			if err := os.WriteFile(path, []byte(tc.want), 0o644); err != nil {
				t.Fatal(err)
			}
			r := &recorder{TB: t}
			Check(r, path, []byte(tc.got))
			if tc.report == nil {
				if len(r.failures) != 0 {
					t.Errorf("equal contents reported: %q", r.failures)
				}
				return
			}
			if len(r.failures) != 1 {
				t.Fatalf("got %d failures, want 1: %q", len(r.failures), r.failures)
			}
			msg := r.failures[0]
			for _, s := range append(tc.report, path) {
				if !strings.Contains(msg, s) {
					t.Errorf("report lacks %q:\n%s", s, msg)
				}
			}
			if len(msg) > 700 {
				t.Errorf("report not clipped (%d bytes):\n%s", len(msg), msg)
			}
		})
	}
}

func TestCheckMissingFile(t *testing.T) {
	setUpdate(t, false)
	path := filepath.Join(t.TempDir(), "none.golden")
	r := &recorder{TB: t}
	Check(r, path, []byte("x"))
	if len(r.failures) != 1 || !strings.Contains(r.failures[0], path) || !strings.Contains(r.failures[0], "(run go test -update to create it)") {
		t.Errorf("failures %q, want one naming %s and -update", r.failures, path)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("Check created the file without -update")
	}
}

func TestUpdateWrites(t *testing.T) {
	setUpdate(t, true)
	if !Update() {
		t.Fatal("Update() = false with -update set")
	}
	path := filepath.Join(t.TempDir(), "new", "dir", "v.json")
	r := &recorder{TB: t}
	JSON(r, path, map[string]int{"b": 2, "a": 1})
	if len(r.failures) != 0 {
		t.Fatalf("failures with -update: %q", r.failures)
	}
	b, err := os.ReadFile(path)
	if want := "{\n  \"a\": 1,\n  \"b\": 2\n}\n"; err != nil || string(b) != want {
		t.Errorf("wrote %q, %v; want %q", b, err, want)
	}
}
