package hl7

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iisync/iisync/internal/golden"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden pins what the package reads out of every sample message: the
// header, patient identifiers and names, vaccine codes, and the MSA and ERR
// fields of acknowledgements. Regenerate with go test -run TestGolden -update
// and review the diff against the raw files.
func TestGolden(t *testing.T) {
	type sample struct{ file, golden string }
	var samples []sample
	for _, f := range sampleFiles(t, messagesDir) {
		rel := strings.TrimSuffix(f[len(messagesDir)+1:], ".hl7")
		samples = append(samples, sample{f, filepath.Join("testdata/golden", rel+".golden")})
	}
	for _, f := range sampleFiles(t, "testdata/synthetic") {
		name := strings.TrimSuffix(filepath.Base(f), ".hl7")
		samples = append(samples, sample{f, filepath.Join("testdata/golden/synthetic", name+".golden")})
	}
	for _, s := range samples {
		t.Run(strings.TrimPrefix(s.golden, "testdata/golden/"), func(t *testing.T) {
			m, err := Parse(readFile(t, s.file))
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, s.golden, []byte(summarize(m)))
		})
	}
}

// summarize lists the values the golden files pin, one "path: value" per
// line; an absent element is shown as <absent>.
func summarize(m *Message) string {
	var b strings.Builder
	line := func(path string) {
		v, ok, err := m.Get(path)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "%s: error %v\n", path, err)
		case !ok:
			fmt.Fprintf(&b, "%s: <absent>\n", path)
		default:
			fmt.Fprintf(&b, "%s: %q\n", path, v)
		}
	}
	count := func(name string) int {
		n := 0
		for range m.SegmentsNamed(name) {
			n++
		}
		return n
	}
	fmt.Fprintf(&b, "segments: %d\n", m.SegmentCount())
	line("MSH-9")
	line("MSH-10")
	for i := 1; i <= count("PID"); i++ {
		occ := "PID[" + strconv.Itoa(i) + "]"
		seg, _ := m.Segment("PID", i)
		reps := seg.Field(3).RepetitionCount()
		if reps == 0 {
			line(occ + "-3")
		}
		for r := 1; r <= reps; r++ {
			line(occ + "-3[" + strconv.Itoa(r) + "]")
		}
		line(occ + "-5")
	}
	for i := 1; i <= count("RXA"); i++ {
		line("RXA[" + strconv.Itoa(i) + "]-5")
	}
	for i := 1; i <= count("MSA"); i++ {
		line("MSA[" + strconv.Itoa(i) + "]-1")
		line("MSA[" + strconv.Itoa(i) + "]-2")
	}
	for i := 1; i <= count("ERR"); i++ {
		occ := "ERR[" + strconv.Itoa(i) + "]"
		for _, f := range []string{"-1", "-2", "-3", "-4", "-5", "-8"} {
			if f == "-1" && m.Value(occ+f) == "" {
				continue // ERR-1 is deprecated; shown only when a registry fills it
			}
			line(occ + f)
		}
	}
	return b.String()
}
