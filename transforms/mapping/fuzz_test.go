package mapping

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
)

// FuzzDateReformat: layouts and values never panic, and a reformatted
// value reads back with the output layout to the same units.
func FuzzDateReformat(f *testing.F) {
	f.Add("MM/DD/YYYY", "YYYYMMDD", "07/04/2024")
	f.Add("YYYY-MM-DDTHH:mm:SS", "YYYYMMDDHHmmSS", "2024-07-04T23:59:59")
	f.Add("YYYYMMDD", "DD.MM.YYYY", "20240229")
	f.Add("DDMMYYYY", "MMDD", "29022023")
	f.Fuzz(func(t *testing.T, from, to, value string) {
		fl, err1 := parseDateLayout(from)
		tl, err2 := parseDateLayout(to)
		if err1 != nil || err2 != nil || fl.lacks(tl) != "" {
			return
		}
		v, ok := fl.parse(value)
		if !ok {
			return
		}
		out := tl.format(v)
		w, ok := tl.parse(out)
		if !ok {
			t.Fatalf("%q (%s → %s) gave %q, which %s does not read", value, from, to, out, to)
		}
		for _, tok := range tl {
			if tok.unit != unitLiteral && w[tok.unit] != v[tok.unit] {
				t.Fatalf("%q (%s → %s) gave %q: %s changed", value, from, to, out, tok.unit)
			}
		}
	})
}

// FuzzSteps runs every step kind on arbitrary messages: no panic, the input
// is never modified, every failure is a *StepError, and a result parses.
func FuzzSteps(f *testing.F) {
	for _, file := range []string{"testdata/vxu_canary.hl7", nistNDC, "../hl7/testdata/bench_vxu.hl7"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("MSH#*@%$#A#B\rRXA#0#1#x##00006-4047-20*x*NDC*08*y*CVX\rPID#1##é*Ø\n\nOBX#1"))
	f.Add([]byte("MSH|^~\\&|A|B|C|D|||VXU^V04|1|P|2.5.1\rRXA|0|1|20240230||1^2^99NDC^^^CVX\rPID|1||||A~B~C|"))
	f.Add([]byte("MSH|^~\\&\rPID|1|||\\T\\~,a, b|07/04/2024\r\nRXA|||||x^y^NDC"))
	cfgs := fullChain()
	cfgs = append(cfgs,
		StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"MM/DD/YYYY", "YYYYMMDD"}, To: "YYYY-MM-DD"}},
		StepConfig{Date: &DateStep{Path: "RXA-3", From: []string{"YYYYMMDD"}, To: "MM/DD/YYYY", OnError: "keep"}},
		StepConfig{NDCToCVX: &NDCToCVXStep{OnUnknown: "keep"}},
		StepConfig{Split: &SplitStep{Path: "PID-5", Separator: ","}},
		StepConfig{Merge: &MergeStep{Path: "PID-5", Separator: ","}},
		StepConfig{Replace: &ReplaceStep{Path: "PID-5", Pattern: `[aeiou]`, With: "^"}},
		StepConfig{MoveSegment: &MoveSegmentStep{Segment: "PID", Before: "RXA"}},
		StepConfig{AddSegment: &AddSegmentStep{Text: funding, Before: "OBX", All: true}},
		StepConfig{Facility: &FacilityStep{Table: map[string]string{"B": "C"}, Default: "X"}},
	)
	steps, err := Build(cfgs)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<14 {
			t.Skip("too large")
		}
		m, err := hl7.Parse(b)
		if err != nil {
			return
		}
		raw := string(m.Raw())
		check := func(out *hl7.Message, err error) {
			var se *StepError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("error %v is %T, not a *StepError", err, err)
			}
			if out != nil {
				if _, err := hl7.Parse(out.Raw()); err != nil {
					t.Fatalf("result does not parse: %v", err)
				}
			}
		}
		check(Run(context.Background(), steps, m))
		for i := range steps {
			check(Run(context.Background(), steps[i:i+1], m))
		}
		if string(m.Raw()) != raw {
			t.Fatal("input modified")
		}
	})
}
