package validate

import (
	"bytes"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// FuzzValidate feeds arbitrary bytes that parse as HL7 to Validate: it
// must never panic, and every finding must carry a rule, a severity other
// than Ignore, a location, a code and a message. It also checks the
// package's own field views against package hl7 on the same input.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(zztestVXU))
	f.Add([]byte(zztestQBP))
	for _, dir := range []string{messagesDir, demoDir} {
		for _, file := range sampleFiles(f, dir) {
			f.Add(readFile(f, file))
		}
	}
	f.Add([]byte("MSH|^~\\&|||||||VXU^V04\rRXA\rOBX|||64994-7\rORC\rZZZ|1\rPID|||||~~~^^^&&&|\\X0D\\"))
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
		for _, x := range v.Validate(m) {
			if x.Rule == "" || x.Code == "" || x.Location.Segment == "" || x.Message == "" {
				t.Fatalf("incomplete finding %+v", x)
			}
			if x.Severity != Error && x.Severity != Warning && x.Severity != Info {
				t.Fatalf("finding with severity %q", x.Severity)
			}
		}
		sameViews(t, m)
	})
}

// sameViews checks that segView and elem read the same bytes as
// hl7.Segment.Field, Rep and Component.
func sameViews(t *testing.T, m *hl7.Message) {
	d := m.Delims()
	var sp spans
	for seg := range m.Segments() {
		v := split(seg, d, &sp)
		last := min(seg.FieldCount(), maxFields)
		for n := 1; n <= last; n++ {
			if seg.Name() == "MSH" && n <= 2 {
				continue
			}
			want, got := seg.Field(n), v.field(n)
			if want.Present() != got.ok || !bytes.Equal(want.Raw(), got.b) {
				t.Fatalf("%s-%d: view %q, hl7 %q", seg.Name(), n, got.b, want.Raw())
			}
			for r := 1; r <= 3; r++ {
				wr, gr := want.Rep(r), got.rep(d, r)
				for c := 1; c <= 4; c++ {
					wc, gc := wr.Component(c), gr.comp(d, c)
					for s := 1; s <= 2; s++ {
						ws, gs := wc.Component(s), gc.comp(d, s)
						if ws.Present() != gs.ok || !bytes.Equal(ws.Raw(), gs.b) {
							t.Fatalf("%s-%d[%d].%d.%d: view %q, hl7 %q", seg.Name(), n, r, c, s, gs.b, ws.Raw())
						}
					}
					var cv compView
					cv.split(wr.Raw(), d.Component)
					if wr.Present() && c <= cv.n && !bytes.Equal(cv.comp(c).b, wc.Raw()) {
						t.Fatalf("%s-%d[%d].%d: compView %q, hl7 %q", seg.Name(), n, r, c, cv.comp(c).b, wc.Raw())
					}
				}
			}
		}
		if v.field(last+1).ok && last < maxFields {
			t.Fatalf("%s: view has field %d beyond the segment", seg.Name(), last+1)
		}
	}
}
