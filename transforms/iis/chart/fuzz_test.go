package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
)

// FuzzApply checks that Apply never panics on a message that parses, that it
// is idempotent, and that VXU of the resulting chart always parses.
func FuzzApply(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.hl7"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("MSH|^~\\&|A|ZZTESTFAC|||20200101||VXU^V04|1|P|2.5.1\rPID|1||PAT123^^^A^MR\rRXA|0|1|20200101||08^^CVX|||||||||||||||D\r"))
	f.Add([]byte("MSH|#@*$%|A|F|||20200101||VXU|1\rPID|1||PAT123\rORC|RE||1\rRXA|0|1|20200101||998@@CVX||||||||||||||NA\rOBX|1|CE|30945-0||VXC23\r"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := hl7.Parse(data)
		if err != nil {
			return
		}
		var c Chart
		if err := Apply(&c, m); err != nil {
			return
		}
		once := jsonOf(t, &c)
		if err := Apply(&c, m); err != nil {
			t.Fatalf("second Apply: %v", err)
		}
		if twice := jsonOf(t, &c); !bytes.Equal(once, twice) {
			t.Fatalf("Apply is not idempotent:\n%s\nvs\n%s", once, twice)
		}
		out, err := VXU(&c, c.Doses, VXUOptions{Time: vxuTime, ControlID: "1", IncludeRegistryID: true})
		if err != nil {
			t.Fatalf("VXU: %v", err)
		}
		if _, err := hl7.Parse(out); err != nil {
			t.Fatalf("VXU output does not parse: %v", err)
		}
	})
}
