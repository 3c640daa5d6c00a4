package validate

import (
	"os"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

func BenchmarkPhases(b *testing.B) {
	raw, _ := os.ReadFile("../hl7/testdata/bench_vxu.hl7")
	v, _ := New(Config{Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})
	m, _ := hl7.Parse(raw)
	p := v.t.pick(m)
	b.Run("pick", func(b *testing.B) {
		for b.Loop() {
			v.t.pick(m)
		}
	})
	b.Run("newRun", func(b *testing.B) {
		for b.Loop() {
			r := newRun(v, p, m)
			r.release()
		}
	})
	b.Run("structure", func(b *testing.B) {
		for b.Loop() {
			r := newRun(v, p, m)
			r.structure()
			r.release()
		}
	})
	b.Run("split", func(b *testing.B) {
		for b.Loop() {
			r := newRun(v, p, m)
			for i := range r.segs {
				r.view(i)
			}
			r.release()
		}
	})
	b.Run("fields-nocons", func(b *testing.B) {
		for b.Loop() {
			r := newRun(v, p, m)
			for i := range r.segs {
				si := &r.segs[i]
				spec := r.p.segs[si.id]
				vv := r.view(i)
				c := *spec
				c.cons = nil
				r.fields(i, si, &vv, &c)
			}
			r.release()
		}
	})
	b.Run("fields", func(b *testing.B) {
		for b.Loop() {
			r := newRun(v, p, m)
			for i := range r.segs {
				si := &r.segs[i]
				spec := r.p.segs[si.id]
				vv := r.view(i)
				r.fields(i, si, &vv, spec)
			}
			r.release()
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			v.Validate(m)
		}
	})
}
