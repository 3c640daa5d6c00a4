package mapping

import (
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
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

// realistic12 is a registry-facing chain of 12 steps over the NIST-derived
// bench VXU (transforms/hl7/testdata/bench_vxu.hl7): four of them change the
// message (set, facility, upper, ndc_to_cvx on two RXAs); the others find
// nothing to do on this clean message, as most do on most messages.
func realistic12() []StepConfig {
	return []StepConfig{
		{Set: &SetStep{Path: "MSH-6", Value: "STATEIIS"}},
		{Default: &DefaultStep{Path: "MSH-21.1", Value: "Z22"}},
		{Facility: &FacilityStep{Table: map[string]string{"NISTEHRFAC": "ORG0042", "CLINIC1": "ORG0043"}}},
		{Upper: &UpperStep{Path: "PID-5.1"}},
		{ASCII: &ASCIIStep{Path: "PID-5.2"}},
		{Date: &DateStep{Path: "PID-7", From: []string{"YYYYMMDD", "MM/DD/YYYY"}, To: "YYYYMMDD"}},
		{Replace: &ReplaceStep{Path: "PID-13.7", Pattern: `\D`, With: ""}},
		{Map: &MapStep{Path: "RXA-9.1", Table: map[string]string{"00": "00", "01": "01", "1": "01"}}},
		{NDCToCVX: &NDCToCVXStep{}},
		{AddSegment: &AddSegmentStep{Text: funding, After: "RXA"}, When: `!has("OBX")`},
		{MoveSegment: &MoveSegmentStep{Segment: "PD1", After: "PID"}},
		{Delete: &DeleteStep{Path: "PID-19"}},
	}
}

func benchVXU(b *testing.B) *hl7.Message {
	return readMessage(b, "../hl7/testdata/bench_vxu.hl7")
}

func BenchmarkRun12Steps(b *testing.B) {
	steps, err := Build(realistic12())
	if err != nil {
		b.Fatal(err)
	}
	m := benchVXU(b)
	out, err := Run(b.Context(), steps, m)
	if err != nil {
		b.Fatal(err)
	}
	if out.Value("RXA-5.1") != "94" || out.Value("MSH-4.1") != "ORG0042" {
		b.Fatal("chain did not run")
	}
	b.SetBytes(int64(len(m.Raw())))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(b.Context(), steps, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(steps)), "steps/op")
}

// BenchmarkStep measures each kind alone on the bench VXU, where it
// changes the message (an edit: copy and re-parse) or, for the _noop cases,
// finds nothing to do.
func BenchmarkStep(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  StepConfig
	}{
		{"set", StepConfig{Set: &SetStep{Path: "MSH-6", Value: "STATEIIS"}}},
		{"default_noop", StepConfig{Default: &DefaultStep{Path: "MSH-21", Value: "Z22"}}},
		{"move", StepConfig{Move: &MoveStep{From: "PID-13", To: "PID-14"}}},
		{"replace", StepConfig{Replace: &ReplaceStep{Path: "PID-11", Pattern: `\bSt\b`, With: "Street"}}},
		{"date", StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"MM/DD/YYYY", "YYYYMMDD"}, To: "YYYY-MM-DD"}}},
		{"upper", StepConfig{Upper: &UpperStep{Path: "PID-5"}}},
		{"ascii_noop", StepConfig{ASCII: &ASCIIStep{Path: "PID-5"}}},
		{"split", StepConfig{Split: &SplitStep{Path: "PID-11", Separator: " "}}},
		{"add_segment", StepConfig{AddSegment: &AddSegmentStep{Text: funding, After: "RXA", All: true}}},
		{"move_segment", StepConfig{MoveSegment: &MoveSegmentStep{Segment: "NK1", Before: "PD1"}}},
		{"move_segment_noop", StepConfig{MoveSegment: &MoveSegmentStep{Segment: "PD1", After: "PID"}}},
		{"facility", StepConfig{Facility: &FacilityStep{Table: map[string]string{"NISTEHRFAC": "ORG0042"}}}},
		{"ndc_to_cvx", StepConfig{NDCToCVX: &NDCToCVXStep{}}},
		{"when_false", StepConfig{Set: &SetStep{Path: "MSH-6", Value: "X"}, When: `sender == "OTHER"`}},
		{"script", StepConfig{Script: &ScriptStep{Source: "def transform(msg):\n    if msg.get('PID-8') == 'F':\n        msg.set('PID-3.4', 'STATE')\n"}}},
	} {
		steps, err := Build([]StepConfig{bc.cfg})
		if err != nil {
			b.Fatal(err)
		}
		m := benchVXU(b)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(m.Raw())))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Run(b.Context(), steps, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
