package validate

import (
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// FuzzValidate feeds arbitrary bytes that parse as HL7 to Validate: it
// must never panic, every finding must carry a rule, a severity other than
// Ignore, a location and a code, and findings must come in message order.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(zztestVXU))
	f.Add([]byte(zztestQBP))
	for _, dir := range []string{messagesDir, demoDir} {
		for _, file := range sampleFiles(f, dir) {
			f.Add(readFile(f, file))
		}
	}
	f.Add([]byte("MSH|^~\\&|||||||VXU^V04\rRXA\rOBX|||64994-7\rORC\rZZZ|1\rPID|||||~~~^^^&&&|" + "\\X0D\\"))
	f.Add([]byte("MSH|^~\\&|||||||QBP^Q11|||||||||||Z34\rQPD\rRCP\rDSC"))
	f.Add([]byte("MSH|#!@$%|||||||VXU#V04\rPID#1##A!B!C@D"))
	v, err := New(Config{Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := hl7.Parse(b)
		if err != nil {
			return
		}
		fs := v.Validate(m)
		for _, x := range fs {
			if x.Rule == "" || x.Code == "" || x.Location.Segment == "" || x.Message == "" {
				t.Fatalf("incomplete finding %+v", x)
			}
			if x.Severity != Error && x.Severity != Warning && x.Severity != Info {
				t.Fatalf("finding with severity %q", x.Severity)
			}
		}
	})
}
