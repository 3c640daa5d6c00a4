package mapping

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

// edited returns the canary message with the given wire values set, for
// cases that need data the canary lacks (accents, repetitions, NDCs).
func edited(t testing.TB, kv ...string) *hl7.Message {
	t.Helper()
	m := canary(t)
	for i := 0; i < len(kv); i += 2 {
		var err error
		if m, err = m.SetRaw(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// nistNDC is the NIST AD-1.1 VXU: three RXAs coded as NDC, two historical
// ones coded as CVX.
const nistNDC = "../../testdata/messages/nist-onc2015/vxu_z22_AD-1.1_multi_rxa_ndc_plus_historical.hl7"

func readMessage(t testing.TB, file string) *hl7.Message {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const funding = "OBX|9|CE|30963-3^Vaccine funding source^LN|9|VXC50^Public^CDCPHINVS||||||F"

func TestCatalogueSteps(t *testing.T) {
	tests := []struct {
		name    string
		in      func(testing.TB) *hl7.Message // nil: the canary
		cfg     StepConfig
		touched []string // segments allowed to differ; all others must be byte-identical
		same    bool     // the message must come back unchanged (the same *Message)
	}{
		{"move_field", nil, StepConfig{Move: &MoveStep{From: "PID-13", To: "PID-14"}}, []string{"PID"}, false},
		{"move_across_segments", nil, StepConfig{Move: &MoveStep{From: "PD1-11", To: "NK1-5"}}, []string{"PD1", "NK1"}, false},
		{"move_absent_source", nil, StepConfig{Move: &MoveStep{From: "PID-29", To: "PID-8"}}, nil, true},
		{"default_fills_empty", nil, StepConfig{Default: &DefaultStep{Path: "MSH-17", Value: "USA"}}, []string{"MSH"}, false},
		{"default_fills_delimiters_only", func(t testing.TB) *hl7.Message { return edited(t, "MSH-21", "^^") },
			StepConfig{Default: &DefaultStep{Path: "MSH-21", Value: "Z22"}}, []string{"MSH"}, false},
		{"default_keeps_value", nil, StepConfig{Default: &DefaultStep{Path: "MSH-21", Value: "Z22"}}, nil, true},
		{"default_keeps_hl7_null", func(t testing.TB) *hl7.Message { return edited(t, "PID-8", `""`) },
			StepConfig{Default: &DefaultStep{Path: "PID-8", Value: "U"}}, nil, true},
		{"replace_component", nil, StepConfig{Replace: &ReplaceStep{Path: "PID-13.7", Pattern: `^(\d{3})(\d{4})$`, With: "$1-$2"}}, []string{"PID"}, false},
		{"replace_each_leaf_keeps_escapes", nil, StepConfig{Replace: &ReplaceStep{Path: "PID-11", Pattern: `\bST\b`, With: "STREET"}}, []string{"PID"}, false},
		{"replace_can_write_delimiters", nil, StepConfig{Replace: &ReplaceStep{Path: "PID-11.3", Pattern: `TOWN`, With: "^~|&"}}, []string{"PID"}, false},
		{"replace_no_match", nil, StepConfig{Replace: &ReplaceStep{Path: "PID-13", Pattern: `[a-z]`, With: ""}}, nil, true},
		{"date_reformat", nil, StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"MM/DD/YYYY", "YYYYMMDD"}, To: "YYYY-MM-DD"}}, []string{"PID"}, false},
		{"date_to_hl7", func(t testing.TB) *hl7.Message { return edited(t, "RXA[2]-3", "07/04/2024 13:05") },
			StepConfig{Date: &DateStep{Path: "RXA[2]-3", From: []string{"YYYYMMDDHHmm", "MM/DD/YYYY HH:mm"}, To: "YYYYMMDDHHmm"}}, []string{"RXA"}, false},
		{"date_already_so", nil, StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"MM/DD/YYYY", "YYYYMMDD"}, To: "YYYYMMDD"}}, nil, true},
		{"date_absent", nil, StepConfig{Date: &DateStep{Path: "PID-29", From: []string{"MM/DD/YYYY"}, To: "YYYYMMDD"}}, nil, true},
		{"date_keep", nil, StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"MM/DD/YYYY"}, To: "YYYYMMDD", OnError: "keep"}}, nil, true},
		{"upper_field", nil, StepConfig{Upper: &UpperStep{Path: "NK1-3"}}, []string{"NK1"}, false},
		{"upper_already", nil, StepConfig{Upper: &UpperStep{Path: "PID-5"}}, nil, true},
		{"ascii_name", func(t testing.TB) *hl7.Message {
			return edited(t, "PID-5", "ZZTÉST-MUÑOZ^ÅLÏCE ØSTERGÅRD ßŒ^^^^^L")
		},
			StepConfig{ASCII: &ASCIIStep{Path: "PID-5"}}, []string{"PID"}, false},
		{"ascii_decomposed_and_quotes", func(t testing.TB) *hl7.Message { return edited(t, "PID-5.1", "ZZO’BRIE\u0301N") },
			StepConfig{ASCII: &ASCIIStep{Path: "PID-5.1"}}, []string{"PID"}, false},
		{"ascii_already", nil, StepConfig{ASCII: &ASCIIStep{Path: "PID-5"}}, nil, true},
		{"split_field", func(t testing.TB) *hl7.Message { return edited(t, "PID-9", "ZZALPHA, ZZBETA ,,ZZGAMMA") },
			StepConfig{Split: &SplitStep{Path: "PID-9", Separator: ","}}, []string{"PID"}, false},
		{"split_keeps_composites", func(t testing.TB) *hl7.Message { return edited(t, "PID-3", `PAT123^^^CLINIC1^MR~A/B`) },
			StepConfig{Split: &SplitStep{Path: "PID-3", Separator: "/"}}, []string{"PID"}, false},
		{"split_nothing_to_split", nil, StepConfig{Split: &SplitStep{Path: "PID-8", Separator: ","}}, nil, true},
		{"merge_field", func(t testing.TB) *hl7.Message { return edited(t, "PID-9", "ZZALPHA~~ZZBETA \\T\\ CO") },
			StepConfig{Merge: &MergeStep{Path: "PID-9", Separator: " / "}}, []string{"PID"}, false},
		{"merge_one_repetition", nil, StepConfig{Merge: &MergeStep{Path: "PID-8", Separator: ","}}, nil, true},
		{"add_segment_at_end", nil, StepConfig{AddSegment: &AddSegmentStep{Text: funding}}, nil, false},
		{"add_segment_after_last_rxa", nil, StepConfig{AddSegment: &AddSegmentStep{Text: funding, After: "RXA"}}, nil, false},
		{"add_segment_after_each_rxa", nil, StepConfig{AddSegment: &AddSegmentStep{Text: funding, After: "RXA", All: true}}, nil, false},
		{"add_segment_before_first_orc", nil, StepConfig{AddSegment: &AddSegmentStep{Text: "NTE|1||ZZNOTE", Before: "ORC"}}, nil, false},
		{"add_segment_before_each_orc", nil, StepConfig{AddSegment: &AddSegmentStep{Text: "NTE|1||ZZNOTE", Before: "ORC", All: true}}, nil, false},
		{"add_segment_absent_anchor", nil, StepConfig{AddSegment: &AddSegmentStep{Text: funding, After: "IN1"}}, nil, true},
		{"move_segment_before", nil, StepConfig{MoveSegment: &MoveSegmentStep{Segment: "NK1", Before: "PD1"}}, nil, false},
		{"move_segment_all_after", nil, StepConfig{MoveSegment: &MoveSegmentStep{Segment: "OBX", After: "RXR"}}, nil, false},
		{"move_segment_in_place", nil, StepConfig{MoveSegment: &MoveSegmentStep{Segment: "PD1", After: "PID"}}, nil, true},
		{"move_segment_absent", nil, StepConfig{MoveSegment: &MoveSegmentStep{Segment: "IN1", After: "PID"}}, nil, true},
		{"move_segment_absent_anchor", nil, StepConfig{MoveSegment: &MoveSegmentStep{Segment: "PD1", After: "PV1"}}, nil, true},
		{"facility_mapped", nil, StepConfig{Facility: &FacilityStep{Table: map[string]string{"CLINIC1": "ORG0042"}}}, []string{"MSH"}, false},
		{"facility_default", nil, StepConfig{Facility: &FacilityStep{Table: map[string]string{"OTHER": "ORG1"}, Default: "ORG0000"}}, []string{"MSH"}, false},
		{"facility_same", nil, StepConfig{Facility: &FacilityStep{Table: map[string]string{"CLINIC1": "CLINIC1"}}}, nil, true},
		{"ndc_to_cvx_cvx_coded", nil, StepConfig{NDCToCVX: &NDCToCVXStep{}}, nil, true},
		{"ndc_to_cvx_second_rxa", func(t testing.TB) *hl7.Message { return edited(t, "RXA[2]-5", "58160-0812-01^KINRIX^NDC") },
			StepConfig{NDCToCVX: &NDCToCVXStep{}}, []string{"RXA"}, false},
		{"ndc_to_cvx_swaps_known_alternate", func(t testing.TB) *hl7.Message {
			return edited(t, "RXA-5", "99999-9999-99^Local^99NDC^08^Hep B^CVX^^^orig text")
		}, StepConfig{NDCToCVX: &NDCToCVXStep{}}, []string{"RXA"}, false},
		{"ndc_to_cvx_keep_unknown", func(t testing.TB) *hl7.Message { return edited(t, "RXA-5", "99999-9999-99^Local^NDC") },
			StepConfig{NDCToCVX: &NDCToCVXStep{OnUnknown: "keep"}}, nil, true},
		{"map_from_csv_table", nil, StepConfig{Map: &MapStep{Path: "RXA-9.1", TableFile: "nip001.csv", Table: mustTable(t, "from,to\n00,01\n")}}, []string{"RXA"}, false},
		{"when_false_skips", nil, StepConfig{Set: &SetStep{Path: "PID-8", Value: "M"}, When: `sender == "CLINIC2"`}, nil, true},
		{"when_true_runs", nil, StepConfig{Set: &SetStep{Path: "PID-8", Value: "M"}, When: `sender == "CLINIC1" && count("RXA") == 2`}, []string{"PID"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := canary(t)
			if tc.in != nil {
				m = tc.in(t)
			}
			raw := bytes.Clone(m.Raw())
			steps, err := Build([]StepConfig{tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			out, err := Run(t.Context(), steps, m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Raw(), raw) {
				t.Fatal("input message modified")
			}
			if tc.same {
				if out != m {
					t.Errorf("want the input message back unchanged, got a new one (equal bytes: %v)", bytes.Equal(out.Raw(), raw))
				}
				return
			}
			if bytes.Equal(out.Raw(), raw) {
				t.Error("message unchanged")
			}
			if tc.touched != nil {
				if a, b := segments(m, tc.touched), segments(out, tc.touched); strings.Join(a, "\r") != strings.Join(b, "\r") {
					t.Errorf("segments other than %v changed", tc.touched)
				}
			} else if !segmentsKept(m, out) {
				t.Error("an original segment changed or went missing")
			}
			golden(t, tc.name, out)
		})
	}
}

// segmentsKept reports whether every segment of m is in out, byte for byte
// (segment steps add or reorder segments but never rewrite them).
func segmentsKept(m, out *hl7.Message) bool {
	have := map[string]int{}
	for s := range out.Segments() {
		have[string(s.Raw())]++
	}
	for s := range m.Segments() {
		if have[string(s.Raw())] == 0 {
			return false
		}
		have[string(s.Raw())]--
	}
	return true
}

func mustTable(t testing.TB, csv string) map[string]string {
	t.Helper()
	tab, err := ParseTableCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestNDCToCVXNIST(t *testing.T) {
	m := readMessage(t, nistNDC)
	steps, err := Build([]StepConfig{{NDCToCVX: &NDCToCVXStep{}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(t.Context(), steps, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"120^DTaP-Hib-IPV^CVX^49281-0560-05^Pentacel^NDC",
		"116^rotavirus, pentavalent^CVX^00006-4047-20^RotaTeq^NDC",
		"133^Pneumococcal conjugate PCV 13^CVX^00005-1971-01^Prevnar 13^NDC",
		"45^Hep B, unspecified formulation^CVX", // historical, CVX already
		"45^Hep B, unspecified formulation^CVX",
	}
	i := 0
	for s := range out.SegmentsNamed("RXA") {
		if got := string(s.Field(5).Raw()); i >= len(want) || got != want[i] {
			t.Errorf("RXA[%d]-5 = %q", i+1, got)
		}
		i++
	}
	if i != len(want) {
		t.Errorf("%d RXAs, want %d", i, len(want))
	}
	if a, b := segments(m, []string{"RXA"}), segments(out, []string{"RXA"}); strings.Join(a, "\r") != strings.Join(b, "\r") {
		t.Error("segments other than RXA changed")
	}
	// Only RXA-5 changed in each RXA.
	for k := 1; k <= 5; k++ {
		a, _ := m.Segment("RXA", k)
		b, _ := out.Segment("RXA", k)
		for f := 1; f <= max(a.FieldCount(), b.FieldCount()); f++ {
			if f != 5 && !bytes.Equal(a.Field(f).Raw(), b.Field(f).Raw()) {
				t.Errorf("RXA[%d]-%d changed", k, f)
			}
		}
	}
	golden(t, "ndc_to_cvx_nist_ad_1_1", out)

	// Once converted, nothing is NDC any more.
	if again, err := Run(t.Context(), steps, out); err != nil || again != out {
		t.Errorf("second run: %v, changed %v", err, again != out)
	}
}

func TestCatalogueErrors(t *testing.T) {
	tests := []struct {
		name string
		in   func(testing.TB) *hl7.Message
		cfg  StepConfig
		is   error
		text string
	}{
		{"default missing segment", nil, StepConfig{Default: &DefaultStep{Path: "IN1-2", Value: "ZZTEST"}}, hl7.ErrNotFound,
			`step 0 (default): path "IN1-2": hl7: segment not found`},
		{"move to missing segment", nil, StepConfig{Move: &MoveStep{From: "PID-5", To: "IN1-2"}}, hl7.ErrNotFound,
			`step 0 (move): path "IN1-2": hl7: segment not found`},
		{"date matches no layout", nil, StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"MM/DD/YYYY", "YYYY-MM-DD"}, To: "YYYYMMDD"}}, ErrDateLayout,
			`step 0 (date): path "PID-7": mapping: value matches no date layout`},
		{"date not a real date", func(t testing.TB) *hl7.Message { return edited(t, "PID-7", "20230229") },
			StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"YYYYMMDD"}, To: "MM/DD/YYYY"}}, ErrDateLayout,
			`step 0 (date): path "PID-7": mapping: value matches no date layout`},
		{"merge composite", func(t testing.TB) *hl7.Message { return edited(t, "PID-3", "PAT123^^^A~ZZTEST") },
			StepConfig{Merge: &MergeStep{Path: "PID-3", Separator: ","}}, ErrComposite,
			`step 0 (merge): path "PID-3[1]": mapping: repetition has components`},
		{"facility unmapped", nil, StepConfig{Facility: &FacilityStep{Table: map[string]string{"OTHER": "ORG1"}}}, ErrUnmappedFacility,
			`step 0 (facility): path "MSH-4.1": mapping: sending facility not in table`},
		{"unknown NDC", func(t testing.TB) *hl7.Message { return edited(t, "RXA[2]-5", "99999-9999-99^ZZTEST^NDC") },
			StepConfig{NDCToCVX: &NDCToCVXStep{}}, ErrUnknownNDC,
			`step 0 (ndc_to_cvx): path "RXA[2]-5.1": mapping: NDC not in the CVX crosswalk`},
		{"when fails at run time", nil, StepConfig{Set: &SetStep{Path: "PID-8", Value: "M"}, When: `int(field("PID-5.1")) > 0`}, ErrFilterEval,
			"step 0 (set): filter 1:1: mapping: filter: evaluation failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := canary(t)
			if tc.in != nil {
				m = tc.in(t)
			}
			steps, err := Build([]StepConfig{tc.cfg})
			if err != nil {
				t.Fatal(err)
			}
			out, err := Run(t.Context(), steps, m)
			var se *StepError
			if out != nil || !errors.As(err, &se) || !errors.Is(err, tc.is) || err.Error() != tc.text {
				t.Errorf("got %v, %v\nwant %s", out, err, tc.text)
			}
			noMarkers(t, tc.name, err)
		})
	}
}

func TestBuildCatalogueErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  StepConfig
		want string
	}{
		{"move same path", StepConfig{Move: &MoveStep{From: "PID-13", To: "PID-13"}}, `step 0 (move): to: must differ from from, got "PID-13" for both`},
		{"move into itself", StepConfig{Move: &MoveStep{From: "PID-5", To: "PID-5.2"}}, `step 0 (move): to: must not be inside from or contain it, got "PID-5" and "PID-5.2"`},
		{"move from delimiters", StepConfig{Move: &MoveStep{From: "MSH-2", To: "PID-13"}}, `step 0 (move): from: "MSH-2" holds the delimiters and cannot be changed`},
		{"default bad path", StepConfig{Default: &DefaultStep{Path: "PID", Value: "X"}}, `step 0 (default): path: invalid path "PID"`},
		{"replace bad pattern", StepConfig{Replace: &ReplaceStep{Path: "PID-13", Pattern: `(\d+`}}, "step 0 (replace): pattern: error parsing regexp: missing closing ): `(\\d+`"},
		{"replace no pattern", StepConfig{Replace: &ReplaceStep{Path: "PID-13"}}, "step 0 (replace): pattern: required"},
		{"date no layouts", StepConfig{Date: &DateStep{Path: "PID-7", To: "YYYYMMDD"}}, "step 0 (date): from: must list at least one layout"},
		{"date bad token", StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"M/D/YYYY"}, To: "YYYYMMDD"}}, `step 0 (date): from[0]: layout "M/D/YYYY": 'M' at offset 0 is not one of YYYY, MM, DD, HH, mm, SS`},
		{"date token twice", StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"YYYYMMDD"}, To: "YYYYMMDDYYYY"}}, `step 0 (date): to: layout "YYYYMMDDYYYY": YYYY used twice`},
		{"date no token", StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"-"}, To: "YYYYMMDD"}}, `step 0 (date): from[0]: layout "-" has no YYYY, MM, DD, HH, mm or SS`},
		{"date to needs more", StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"YYYYMMDD", "MM/DD/YYYY HH:mm"}, To: "YYYYMMDDHHmm"}}, `step 0 (date): from[0]: lacks HH, which to uses`},
		{"date on_error", StepConfig{Date: &DateStep{Path: "PID-7", From: []string{"YYYYMMDD"}, To: "YYYYMMDD", OnError: "drop"}}, `step 0 (date): on_error: must be error or keep, got "drop"`},
		{"split component path", StepConfig{Split: &SplitStep{Path: "PID-5.1", Separator: ","}}, `step 0 (split): path: must name a field (SEG-n or SEG[k]-n), got "PID-5.1"`},
		{"split no separator", StepConfig{Split: &SplitStep{Path: "PID-5"}}, "step 0 (split): separator: required"},
		{"merge repetition path", StepConfig{Merge: &MergeStep{Path: "PID-3[2]"}}, `step 0 (merge): path: must name a field (SEG-n or SEG[k]-n), got "PID-3[2]"`},
		{"add_segment two lines", StepConfig{AddSegment: &AddSegmentStep{Text: "NTE|1\rNTE|2"}}, "step 0 (add_segment): text: must be exactly one segment (no line breaks)"},
		{"add_segment bad id", StepConfig{AddSegment: &AddSegmentStep{Text: "nte|1"}}, "step 0 (add_segment): text: does not parse as a segment: segment 2: hl7: invalid segment id"},
		{"add_segment MSH", StepConfig{AddSegment: &AddSegmentStep{Text: "MSH|^~\\&|X"}}, "step 0 (add_segment): text: must not be an MSH segment"},
		{"add_segment batch line", StepConfig{AddSegment: &AddSegmentStep{Text: "BHS|^~\\&"}}, "step 0 (add_segment): text: must be exactly one segment (no line breaks, no batch header)"},
		{"add_segment both anchors", StepConfig{AddSegment: &AddSegmentStep{Text: "NTE|1", After: "RXA", Before: "RXR"}}, "step 0 (add_segment): before: must not be set together with after"},
		{"add_segment before MSH", StepConfig{AddSegment: &AddSegmentStep{Text: "NTE|1", Before: "MSH"}}, `step 0 (add_segment): before: must be a segment ID other than MSH, got "MSH"`},
		{"add_segment all alone", StepConfig{AddSegment: &AddSegmentStep{Text: "NTE|1", All: true}}, "step 0 (add_segment): all: needs after or before"},
		{"move_segment no anchor", StepConfig{MoveSegment: &MoveSegmentStep{Segment: "PD1"}}, "step 0 (move_segment): after: one of after or before is required"},
		{"move_segment itself", StepConfig{MoveSegment: &MoveSegmentStep{Segment: "PD1", After: "PD1"}}, `step 0 (move_segment): segment: must differ from its anchor, got "PD1" for both`},
		{"move_segment MSH", StepConfig{MoveSegment: &MoveSegmentStep{Segment: "MSH", Before: "PID"}}, `step 0 (move_segment): segment: must be a segment ID other than MSH, got "MSH"`},
		{"facility empty", StepConfig{Facility: &FacilityStep{Default: "X"}}, "step 0 (facility): table: must have at least one entry"},
		{"ndc_to_cvx component", StepConfig{NDCToCVX: &NDCToCVXStep{Path: "RXA-5.1"}}, `step 0 (ndc_to_cvx): path: must be SEG-n (every segment of that name, not MSH), got "RXA-5.1"`},
		{"ndc_to_cvx occurrence", StepConfig{NDCToCVX: &NDCToCVXStep{Path: "RXA[2]-5"}}, `step 0 (ndc_to_cvx): path: must be SEG-n (every segment of that name, not MSH), got "RXA[2]-5"`},
		{"ndc_to_cvx MSH", StepConfig{NDCToCVX: &NDCToCVXStep{Path: "MSH-9"}}, `step 0 (ndc_to_cvx): path: must be SEG-n (every segment of that name, not MSH), got "MSH-9"`},
		{"ndc_to_cvx on_unknown", StepConfig{NDCToCVX: &NDCToCVXStep{OnUnknown: "skip"}}, `step 0 (ndc_to_cvx): on_unknown: must be error or keep, got "skip"`},
		{"map table_file not loaded", StepConfig{Map: &MapStep{Path: "RXA-9.1", TableFile: "nip001.csv"}}, `step 0 (map): table_file: "nip001.csv" not loaded (conf reads it into table)`},
		{"script not loaded", StepConfig{Script: &ScriptStep{File: "fix.star"}}, `step 0 (script): file: "fix.star" not loaded (conf reads it into source)`},
		{"script nothing", StepConfig{Script: &ScriptStep{}}, "step 0 (script): source: one of source or file is required"},
		{"script limits", StepConfig{Script: &ScriptStep{Source: "x", Timeout: 20 * 1e9, MaxSteps: -1}}, "step 0 (script): timeout: must be 1ms..10s, got 20s\nstep 0 (script): max_steps: must be 1..100000000, got -1"},
		{"when does not compile", StepConfig{Set: &SetStep{Path: "PID-8", Value: "F"}, When: `sender ==`}, "step 0 (set): when: mapping: compile filter: unexpected token EOF (1:9)\n | sender ==\n | ........^"},
		{"when not bool", StepConfig{Delete: &DeleteStep{Path: "PID-8"}, When: `count("RXA")`}, "step 0 (delete): when: mapping: compile filter: expected bool, but got int"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Build([]StepConfig{tc.cfg})
			if err == nil || err.Error() != tc.want || steps != nil {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			var be *BuildError
			if !errors.As(err, &be) || be.Index != 0 || be.Kind != tc.cfg.Kind() {
				t.Errorf("not a *BuildError for step 0 (%s): %#v", tc.cfg.Kind(), err)
			}
		})
	}
}

// TestBuildErrorsForConf pins what conf sees: each problem is a
// *field.Error relative to the transforms list, which field.Prefix places
// under the channel, and a step that fails its own Validate is recognisable
// by index (conf reports those from Validate and skips them here).
func TestBuildErrorsForConf(t *testing.T) {
	_, err := Build([]StepConfig{
		{Set: &SetStep{Path: "MSH-6", Value: "X"}, Delete: &DeleteStep{Path: "PID-5"}},
		{Copy: &CopyStep{From: "PID-3"}},
		{Replace: &ReplaceStep{Path: "PID-13", Pattern: "("}, When: "type =="},
	})
	got := field.Prefix("channels[0].transforms", err).Error()
	want := "channels[0].transforms[0]: must set exactly one of " + components.names() + " (got 2)\n" +
		"channels[0].transforms[1].copy.to: required\n" +
		"channels[0].transforms[2].replace.pattern: error parsing regexp: missing closing ): `(`\n" +
		"channels[0].transforms[2].when: mapping: compile filter: unexpected token EOF (1:7)\n | type ==\n | ......^"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// conf reports problems of steps failing their own Validate from the
	// channel's Validate, and skips them among Build's by the index in Path
	// (conf/conf.go buildSteps): only Build's own problems remain.
	var own []string
	for _, e := range field.Flatten(err) {
		var fe *field.Error
		if errors.As(e, &fe) {
			num, _, _ := strings.Cut(strings.TrimPrefix(fe.Path, "["), "]")
			if num == "0" || num == "1" {
				continue
			}
			own = append(own, fe.Path)
		}
	}
	if strings.Join(own, " ") != "[2].replace.pattern [2].when" {
		t.Errorf("Build's own problems: %v", own)
	}
	// The text for a direct caller (channels prefixes "transforms: ").
	if !strings.HasPrefix(err.Error(), "step 0: must set exactly one of set, copy, delete, map, drop_segment, move,") {
		t.Errorf("Error() = %s", err)
	}
}

// TestStepConfigFieldsInTable checks that every kind field of StepConfig is
// in the component table under its YAML key.
func TestStepConfigFieldsInTable(t *testing.T) {
	typ := reflect.TypeFor[StepConfig]()
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Type.Kind() != reflect.Pointer {
			continue
		}
		n++
		var c StepConfig
		reflect.ValueOf(&c).Elem().Field(i).Set(reflect.New(f.Type.Elem()))
		if got, want := c.Kind(), f.Tag.Get("yaml"); got != want {
			t.Errorf("field %s: Kind() = %q, want %q", f.Name, got, want)
		}
	}
	if n != len(components.order) {
		t.Errorf("StepConfig has %d kinds, the table %d", n, len(components.order))
	}
}

func TestIsEmpty(t *testing.T) {
	m := edited(t, "PID-2", "^~&", "PID-4", `""`, "PID-9", "^A")
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"PID-2", true}, {"PID-4", false}, {"PID-9", false}, {"PID-30", true}, {"PID-8", false},
	} {
		f, _, _ := m.Lookup(tc.path)
		if got := isEmpty(f, m.Delims()); got != tc.want {
			t.Errorf("isEmpty(%s) = %v", tc.path, got)
		}
	}
}

// TestSegmentStepsOtherDelimiters runs the segment steps on a message
// with LF terminators, a missing final terminator and non-standard
// delimiters: the inserted text is translated and terminators follow the
// message.
func TestSegmentStepsOtherDelimiters(t *testing.T) {
	raw := "MSH#*@%$#EHR#CLINIC1#IIS#STATE#20250101##VXU*V04*VXU_V04#CTL1#P#2.5.1\n" +
		"PID#1##PAT123***CLINIC1*MR##ZZTEST*ALICE\n" +
		"ORC#RE\n" +
		"RXA#0#1#20250101##49281-0560-05*Pentacel*NDC"
	m, err := hl7.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Build([]StepConfig{
		{AddSegment: &AddSegmentStep{Text: `OBX|1|CE|64994-7^Eligibility^LN|1|V02^A*B#C\T\D~E&F||||||F`, After: "RXA"}},
		{MoveSegment: &MoveSegmentStep{Segment: "ORC", After: "RXA"}},
		{NDCToCVX: &NDCToCVXStep{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(t.Context(), steps, m)
	if err != nil {
		t.Fatal(err)
	}
	want := "MSH#*@%$#EHR#CLINIC1#IIS#STATE#20250101##VXU*V04*VXU_V04#CTL1#P#2.5.1\n" +
		"PID#1##PAT123***CLINIC1*MR##ZZTEST*ALICE\n" +
		"RXA#0#1#20250101##120*DTaP-Hib-IPV*CVX*49281-0560-05*Pentacel*NDC\n" +
		"ORC#RE\n" +
		`OBX#1#CE#64994-7*Eligibility*LN#1#V02*A%S%B%F%C&D@E$F######F`
	if got := string(out.Raw()); got != want {
		t.Errorf("got\n%s\nwant\n%s", strings.ReplaceAll(got, "\n", "⏎\n"), want)
	}
	if v := out.Value("OBX-5.2"); v != "A*B#C&D" {
		t.Errorf("OBX-5.2 = %q", v)
	}
}

func TestLayoutKeepsBatchAndTrailingBytes(t *testing.T) {
	raw := "BHS|^~\\&\r\nMSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\r\nPID|1\r\n\r\nNK1|1\r\nBTS|1\r\n"
	m, err := hl7.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Build([]StepConfig{
		{MoveSegment: &MoveSegmentStep{Segment: "NK1", Before: "PID"}},
		{AddSegment: &AddSegmentStep{Text: "PD1|1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), steps, m)
	if err != nil {
		t.Fatal(err)
	}
	want := "BHS|^~\\&\r\nMSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\r\nNK1|1\r\n\r\nPID|1\r\nPD1|1\r\nBTS|1\r\n"
	if got := string(out.Raw()); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestCatalogueConcurrent runs a chain of every new kind on one shared
// message from many goroutines (run with -race).
func TestCatalogueConcurrent(t *testing.T) {
	steps, err := Build(fullChain())
	if err != nil {
		t.Fatal(err)
	}
	m := readMessage(t, nistNDC)
	raw := bytes.Clone(m.Raw())
	first, err := Run(t.Context(), steps, m)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				out, err := Run(context.Background(), steps, m)
				if err == nil && !bytes.Equal(out.Raw(), first.Raw()) {
					err = errors.New("runs disagree")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if !bytes.Equal(m.Raw(), raw) {
		t.Fatal("input message modified")
	}
	golden(t, "full_chain_nist_ad_1_1", first)
}

// fullChain uses every kind once (on the NIST AD-1.1 message).
func fullChain() []StepConfig {
	return []StepConfig{
		{Set: &SetStep{Path: "MSH-6", Value: "STATEIIS"}},
		{Default: &DefaultStep{Path: "MSH-21", Value: "Z22^CDCPHINVS"}},
		{Facility: &FacilityStep{Table: map[string]string{"NISTEHRFAC": "ORG0042"}}},
		{Upper: &UpperStep{Path: "PID-5.1"}},
		{ASCII: &ASCIIStep{Path: "PID-5"}},
		{Date: &DateStep{Path: "PID-7", From: []string{"YYYYMMDD"}, To: "YYYYMMDD"}},
		{Replace: &ReplaceStep{Path: "PID-13.7", Pattern: `\D`, With: ""}},
		{Map: &MapStep{Path: "RXA-9.1", Table: map[string]string{"00": "00", "01": "01"}}},
		{NDCToCVX: &NDCToCVXStep{}},
		{AddSegment: &AddSegmentStep{Text: funding, After: "RXA"}, When: `!has("OBX")`},
		{MoveSegment: &MoveSegmentStep{Segment: "PD1", After: "PID"}},
		{Delete: &DeleteStep{Path: "PID-19"}},
		{Copy: &CopyStep{From: "MSH-4.1", To: "RXA-11.4"}},
		{Move: &MoveStep{From: "PID-13", To: "PID-14"}},
		{Split: &SplitStep{Path: "PID-9", Separator: ","}},
		{Merge: &MergeStep{Path: "PID-9", Separator: " "}},
		{DropSegment: &DropSegmentStep{Segment: "NK1"}},
		{Script: &ScriptStep{Source: "def transform(msg):\n    if msg.segments('OBX') > 20:\n        return False\n    msg.set('PID-3.4', 'STATE')\n"}},
	}
}
