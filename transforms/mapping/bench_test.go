package mapping

import (
	"testing"
)

func BenchmarkFilterMatch(b *testing.B) {
	m := canary(b)
	for _, bc := range []struct{ name, expr string }{
		{"type", `type == "VXU"`},
		{"type_and_sender_in", `type == "VXU" && sender in ["CLINIC1", "CLINIC2"]`},
		{"field", `field("PID-8") == "F"`},
		{"count", `count("RXA") > 0`},
	} {
		f, err := CompileFilter(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(m.Raw())))
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := f.Match(m); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

func BenchmarkRunSteps(b *testing.B) {
	steps, err := Build([]StepConfig{
		{Set: &SetStep{Path: "MSH-4.1", Value: "CLINIC9"}},
		{Map: &MapStep{Path: "RXA-5.1", Table: map[string]string{"08": "45"}}},
		{Copy: &CopyStep{From: "MSH-4.1", To: "RXA-11.4"}},
		{Delete: &DeleteStep{Path: "PID-13"}},
		{DropSegment: &DropSegmentStep{Segment: "OBX", All: true}},
	})
	if err != nil {
		b.Fatal(err)
	}
	m := canary(b)
	b.SetBytes(int64(len(m.Raw())))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(b.Context(), steps, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(steps)), "steps/op")
}
