package channels

import (
	"os"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
)

// BenchmarkStepsAndValidation is issue 5's figure: a 12-step mapping plus
// full pre-flight validation (CDC IG 1.5 profile and MQE rules) of a 2 KB
// VXU, as a channel's receive path runs them (parse, steps, validate, the
// transformed bytes; no store, no ACK). Target: at most 25 µs per message.
func BenchmarkStepsAndValidation(b *testing.B) {
	raw, err := os.ReadFile("../transforms/hl7/testdata/bench_vxu.hl7")
	if err != nil {
		b.Fatal(err)
	}
	const funding = "OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V02^VFC eligible^HL70064||||||F"
	ch := mllpChannel("vxu", mllpDest("iis", "127.0.0.1:9"))
	ch.Transforms = []mapping.StepConfig{
		{Set: &mapping.SetStep{Path: "MSH-6", Value: "STATEIIS"}},
		{Default: &mapping.DefaultStep{Path: "MSH-21.1", Value: "Z22"}},
		{Facility: &mapping.FacilityStep{Table: map[string]string{"NISTEHRFAC": "ORG0042", "CLINIC1": "ORG0043"}}},
		{Upper: &mapping.UpperStep{Path: "PID-5.1"}},
		{ASCII: &mapping.ASCIIStep{Path: "PID-5.2"}},
		{Date: &mapping.DateStep{Path: "PID-7", From: []string{"YYYYMMDD", "MM/DD/YYYY"}, To: "YYYYMMDD"}},
		{Replace: &mapping.ReplaceStep{Path: "PID-13.7", Pattern: `\D`, With: ""}},
		{Map: &mapping.MapStep{Path: "RXA-9.1", Table: map[string]string{"00": "00", "01": "01", "1": "01"}}},
		{NDCToCVX: &mapping.NDCToCVXStep{}},
		{AddSegment: &mapping.AddSegmentStep{Text: funding, After: "RXA"}, When: `!has("OBX")`},
		{MoveSegment: &mapping.MoveSegmentStep{Segment: "PD1", After: "PID"}},
		{Delete: &mapping.DeleteStep{Path: "PID-19"}},
	}
	ch.Preflight = &ValidateConfig{Action: ValidateReject}
	ch = ch.WithDefaults()
	if err := ch.Validate(); err != nil {
		b.Fatal(err)
	}
	p, err := buildPipeline(ch)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var findings int
	for b.Loop() {
		m, err := hl7.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		out, err := mapping.Run(b.Context(), p.steps, m)
		if err != nil || out == nil {
			b.Fatalf("steps: %v", err)
		}
		findings = len(p.validator.Validate(out))
		if len(out.Raw()) == 0 { // the bytes the receive path stores: edits are spliced in here
			b.Fatal("empty message")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(time.Microsecond), "µs/msg")
	b.ReportMetric(float64(findings), "findings")
}
