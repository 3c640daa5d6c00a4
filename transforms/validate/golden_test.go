package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/transforms/hl7"
)

const (
	messagesDir = "../../testdata/messages"
	demoDir     = "../../testdata/demo"
)

// goldenNow is the clock of the golden files: after every sample's dates
// (the demo messages are dated 2026), so "in the future" only fires for
// real mistakes.
var goldenNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// TestGolden validates every VXU and QBP of ../../testdata/messages and
// ../../testdata/demo and pins the findings and the ERR segments they
// become, in testdata/golden/<group>/<name>.golden. Regenerate with
// go test -run TestGolden -update and review the diff.
func TestGolden(t *testing.T) {
	v, err := New(Config{Now: func() time.Time { return goldenNow }})
	if err != nil {
		t.Fatal(err)
	}
	files := append(sampleFiles(t, messagesDir), sampleFiles(t, demoDir)...)
	n := 0
	for _, file := range files {
		raw := readFile(t, file)
		m, err := hl7.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if typ := m.Type(); !strings.HasPrefix(typ, "VXU") && !strings.HasPrefix(typ, "QBP") {
			if fs := v.Validate(m); fs != nil {
				t.Errorf("%s: a %s must give no findings, got %v", file, strings.SplitN(typ, "^", 2)[0], fs)
			}
			continue
		}
		n++
		group := filepath.Base(filepath.Dir(file))
		path := filepath.Join("testdata", "golden", group, strings.TrimSuffix(filepath.Base(file), ".hl7")+".golden")
		t.Run(group+"/"+filepath.Base(file), func(t *testing.T) {
			golden.Check(t, path, []byte(render(m, v.Validate(m))))
		})
	}
	if n < 25 {
		t.Errorf("only %d VXU/QBP samples found; is %s there?", n, messagesDir)
	}
}

// render lists the findings one per line, then the ERR segments an ACK
// built from them carries.
func render(m *hl7.Message, fs []Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", m.Type())
	if len(fs) == 0 {
		b.WriteString("no findings\n")
		return b.String()
	}
	errs := make([]hl7.ErrorDetail, len(fs))
	for i, f := range fs {
		fmt.Fprintln(&b, f)
		errs[i] = f.ErrorDetail()
	}
	b.WriteString("\n")
	ack := hl7.BuildACK(m, "AE", errs, hl7.ACKOptions{ControlID: "GOLDEN", Now: goldenNow})
	for line := range strings.SplitSeq(strings.TrimRight(string(ack), "\r"), "\r") {
		if strings.HasPrefix(line, "ERR|") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
