package hl7

import (
	"errors"
	"slices"
	"testing"
)

// canaryVXU is a synthetic message with the canary markers (ZZTEST, PAT123,
// 20200101) in the places PHI lives.
const canaryVXU = "MSH|^~\\&|EHR|CLINIC^1.2.3^ISO|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|CTL\\F\\1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
	"PID|1||PAT123^^^CLINIC^MR~SR-PAT123^^^STATE&2.16.840&ISO^SR||ZZTESTCHILD^ZZTESTFIRST\\S\\X^^^^^L~ZZTESTALIAS^^^^^^A||20200101|F|||1 ZZTEST St^^Town^MT^59715||\r" +
	"ORC|RE||1001^CLINIC\r" +
	"RXA|0|1|20250101||08^HepB^CVX|0.5|mL^mL^UCUM||00^New^NIP001||||||LOT\\E\\1||MSD^Merck^MVX\r" +
	"RXA|0|1|20250101||20^DTaP^CVX|0.5|mL^^UCUM&milliliter&L\r" +
	"OBX|1|TX|x||line one\\.br\\line two \\H\\bold\\N\\ \\X48692C\\ \\Xzz\\ lone \\ end||||||F\r"

func TestGet(t *testing.T) {
	m := mustParse(t, canaryVXU)
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"MSH-1", "|", true},
		{"MSH-2", "^~\\&", true},
		{"MSH-3", "EHR", true},
		{"MSH-4", "CLINIC^1.2.3^ISO", true},
		{"MSH-4.2", "1.2.3", true},
		{"MSH-9", "VXU^V04^VXU_V04", true},
		{"MSH-9.2", "V04", true},
		{"MSH-10", "CTL|1", true},
		{"MSH-21.2", "CDCPHINVS", true},
		{"MSH-22", "", false},
		{"PID-3", "PAT123^^^CLINIC^MR~SR-PAT123^^^STATE&2.16.840&ISO^SR", true},
		{"PID-3.1", "PAT123", true},
		{"PID-3[1].1", "PAT123", true},
		{"PID-3[2].1", "SR-PAT123", true},
		{"PID-3[2]", "SR-PAT123^^^STATE&2.16.840&ISO^SR", true},
		{"PID-3[2].4", "STATE&2.16.840&ISO", true},
		{"PID-3[2].4.2", "2.16.840", true},
		{"PID-3[2].4.4", "", false},
		{"PID-3[3]", "", false},
		{"PID-3[3].1", "", false},
		{"PID-5.2", "ZZTESTFIRST^X", true},
		{"PID-5[2].1", "ZZTESTALIAS", true},
		{"PID-5.3", "", true},
		{"PID-5.8", "", false},
		{"PID-7", "20200101", true},
		{"PID-7.1", "20200101", true},
		{"PID-7.1.1", "20200101", true},
		{"PID-7.2", "", false},
		{"PID-12", "", true},
		{"PID-13", "", true},
		{"PID-14", "", false},
		{"PID[2]-1", "", false},
		{"RXA-5.1", "08", true},
		{"RXA[2]-5.1", "20", true},
		{"RXA[2]-7.3", "UCUM&milliliter&L", true},
		{"RXA[2]-7.3.2", "milliliter", true},
		{"RXA-15", "LOT\\1", true},
		{"RXA[3]-5", "", false},
		{"OBX-5", "line one\\.br\\line two \\H\\bold\\N\\ Hi, \\Xzz\\ lone \\ end", true},
		{"ZZZ-1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, ok, err := m.Get(tc.path)
			if err != nil || got != tc.want || ok != tc.ok {
				t.Errorf("Get(%q) = %q, %v, %v; want %q, %v, nil", tc.path, got, ok, err, tc.want, tc.ok)
			}
			if v := m.Value(tc.path); v != tc.want {
				t.Errorf("Value(%q) = %q", tc.path, v)
			}
		})
	}
}

func TestGetBadPath(t *testing.T) {
	m := mustParse(t, canaryVXU)
	for _, p := range []string{
		"", "PID", "PID-", "PID-0", "PID-x", "pid-5", "PI-5", "PID5", "PID-5.", "PID-5..1", "PID-5.1.1.1",
		"PID[0]-5", "PID[]-5", "PID[1-5", "PID-3[0]", "PID-3[2", "PID-05", "PID-5.0", "PID-1000",
		"PID[10000]-1", "PID-5 ", " PID-5", "PID-3[1][2]", "PID-99999999999999999999", "PID-5.1[2]",
	} {
		t.Run(p, func(t *testing.T) {
			v, ok, err := m.Get(p)
			pe, isPE := errors.AsType[*PathError](err)
			if v != "" || ok || !isPE || !errors.Is(err, ErrBadPath) || pe.Path != p {
				t.Errorf("Get(%q) = %q, %v, %v; want *PathError(ErrBadPath)", p, v, ok, err)
			}
			if m.Value(p) != "" {
				t.Error("Value of a bad path is not empty")
			}
		})
	}
}

func TestParsePathNoAlloc(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := parsePath("RXA[2]-10.9.2"); !ok {
			t.Fatal("parsePath failed")
		}
	})
	if allocs != 0 {
		t.Errorf("parsePath allocates %v times", allocs)
	}
}

func TestFieldAPI(t *testing.T) {
	m := mustParse(t, canaryVXU)
	pid, ok := m.Segment("PID", 1)
	if !ok || pid.Name() != "PID" {
		t.Fatal("no PID")
	}
	if got := pid.FieldCount(); got != 13 {
		t.Errorf("PID FieldCount = %d, want 13", got)
	}
	msh, _ := m.Segment("MSH", 1)
	if got := msh.FieldCount(); got != 21 {
		t.Errorf("MSH FieldCount = %d, want 21", got)
	}
	pid3 := pid.Field(3)
	if got := pid3.RepetitionCount(); got != 2 {
		t.Errorf("PID-3 RepetitionCount = %d", got)
	}
	var ids []string
	for r := range pid3.Repetitions() {
		ids = append(ids, r.Component(1).String())
	}
	if !slices.Equal(ids, []string{"PAT123", "SR-PAT123"}) {
		t.Errorf("PID-3 ids = %q", ids)
	}
	if got := pid3.Rep(2).SubComponent(4, 2); got != "2.16.840" {
		t.Errorf("PID-3[2].4.2 = %q", got)
	}
	if got := pid3.SubComponent(1, 1); got != "PAT123" {
		t.Errorf("PID-3.1.1 = %q", got)
	}
	if got := string(pid3.Rep(2).Component(4).Raw()); got != "STATE&2.16.840&ISO" {
		t.Errorf("raw = %q", got)
	}
	rxa, _ := m.Segment("RXA", 2)
	if got := rxa.Field(7).Component(3).Component(2).String(); got != "milliliter" {
		t.Errorf("RXA[2]-7.3.2 = %q", got)
	}
	if got := pid.Field(12); !got.Present() || got.RepetitionCount() != 0 {
		t.Errorf("PID-12 present=%v reps=%d; want present, 0 reps", got.Present(), got.RepetitionCount())
	}
	if got := pid.Field(40); got.Present() || got.String() != "" || got.Rep(1).Present() || got.Component(1).Present() {
		t.Error("PID-40 should be absent all the way down")
	}
	if got := msh.Field(1).String(); got != "|" {
		t.Errorf("MSH-1 = %q", got)
	}
	if got := msh.Field(2); got.String() != "^~\\&" || got.RepetitionCount() != 1 || got.Component(2).Present() {
		t.Error("MSH-2 should be one literal value")
	}
	var names []string
	for s := range m.SegmentsNamed("RXA") {
		names = append(names, s.Field(5).Component(1).String())
	}
	if !slices.Equal(names, []string{"08", "20"}) {
		t.Errorf("RXA-5.1 values = %q", names)
	}
	if _, ok := m.Segment("RXA", 3); ok {
		t.Error("RXA[3] found")
	}
	if _, ok := m.Segment("RXA", 0); ok {
		t.Error("RXA[0] found")
	}
	n := 0
	for range m.Segments() {
		n++
		break
	}
	if n != 1 {
		t.Error("Segments does not stop when yield returns false")
	}
}

func TestLookup(t *testing.T) {
	m := mustParse(t, canaryVXU)
	tests := []struct {
		path    string
		raw     string
		present bool
		segment bool
	}{
		{"PID-5", "ZZTESTCHILD^ZZTESTFIRST\\S\\X^^^^^L~ZZTESTALIAS^^^^^^A", true, true},
		{"PID-5[2].1", "ZZTESTALIAS", true, true},
		{"RXA[2]-5.1", "20", true, true},
		{"RXA-15", "LOT\\E\\1", true, true}, // wire form, escapes kept
		{"PID-40", "", false, true},         // segment present, field missing
		{"NK1-2", "", false, false},         // segment missing
		{"RXA[3]-5", "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			f, segment, err := m.Lookup(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if string(f.Raw()) != tc.raw || f.Present() != tc.present || segment != tc.segment {
				t.Errorf("got raw %q present %v segment %v; want %q %v %v", f.Raw(), f.Present(), segment, tc.raw, tc.present, tc.segment)
			}
		})
	}
	if _, _, err := m.Lookup("PID5"); !errors.Is(err, ErrBadPath) {
		t.Errorf("bad path: %v", err)
	}
}
