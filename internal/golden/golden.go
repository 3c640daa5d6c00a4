// Package golden compares test output with files under testdata and
// rewrites them with -update.
//
// Only tests import it: the -update flag it defines is shared by every test
// binary that does, so a package must not define its own.
package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// Update reports whether -update was given (for tests that write more than
// one file their own way).
func Update() bool { return *update }

// Check compares got with the file at path; with -update it first writes
// got there (creating directories). On a mismatch it fails t with the path,
// the first line that differs, and how to accept the change; a missing file
// fails with how to create it.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("golden: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("golden: %v", err)
		}
		// Fall through: reading it back proves the file holds got.
	}
	want, err := os.ReadFile(path)
	if err != nil {
		// Errorf, not Fatalf: one run then lists every missing file.
		if errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v (run go test -update to create it)", err)
		} else {
			t.Errorf("golden: %v", err)
		}
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	n, w, g := firstDiff(want, got)
	t.Errorf("%s differs at line %d:\nwant: %s\n got: %s\nrerun with -update and review the diff", path, n, w, g)
}

// JSON marshals v with a two-space indent and a trailing newline, as every
// JSON golden file here is written, and calls Check.
func JSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	Check(t, path, append(b, '\n'))
}

// firstDiff returns the number of the first line where want and got
// differ, and that line of each, quoted and clipped. want != got.
func firstDiff(want, got []byte) (n int, w, g string) {
	for n = 1; ; n++ {
		var wl, gl []byte
		wl, want = cutLine(want)
		gl, got = cutLine(got)
		if !bytes.Equal(wl, gl) {
			// Both clipped from the same column, so they line up.
			col := commonPrefix(wl, gl)
			return n, clip(wl, col), clip(gl, col)
		}
	}
}

// cutLine splits off b's first line, its end kept so that a difference in
// line ends shows. A lone \r ends a line too: HL7 ends segments with it.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexAny(b, "\r\n")
	if i < 0 {
		return b, nil
	}
	if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
		i++
	}
	return b[:i+1], b[i+1:]
}

func commonPrefix(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// clip quotes about 200 bytes of line, starting a little before col so
// that the difference shows even in a long HL7 segment or JSON line.
func clip(line []byte, col int) string {
	if len(line) == 0 {
		return "(end of file)"
	}
	start := max(0, col-40)
	end := min(len(line), start+200)
	s := fmt.Sprintf("%q", line[start:end])
	if start > 0 {
		s = "..." + s
	}
	if end < len(line) {
		s += "..."
	}
	return s
}
