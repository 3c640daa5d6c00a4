package dict

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestFieldName(t *testing.T) {
	tests := []struct {
		name    string
		segment string
		n       int
		want    string
	}{
		{"MSH-9", "MSH", 9, "Message Type"},
		{"MSH-10", "MSH", 10, "Message Control ID"},
		{"PID-3", "PID", 3, "Patient Identifier List"},
		{"PID-5", "PID", 5, "Patient Name"},
		{"RXA-5", "RXA", 5, "Administered Code"},
		{"RXA-20", "RXA", 20, "Completion Status"},
		{"MSA-2", "MSA", 2, "Message Control ID"},
		{"ERR-2", "ERR", 2, "Error Location"},
		{"ERR-8", "ERR", 8, "User Message"},
		{"QPD-1", "QPD", 1, "Message Query Name"},
		{"QPD-3 query name", "QPD", 3, "PatientList"},
		{"EVN-2", "EVN", 2, "Recorded Date/Time"},
		{"EVN-7 last", "EVN", 7, "Event Facility"},
		{"unknown segment", "ZZZ", 1, ""},
		{"lower-case segment", "pid", 5, ""},
		{"empty segment", "", 1, ""},
		{"field 0", "PID", 0, ""},
		{"negative field", "PID", -1, ""},
		{"past last field", "EVN", 8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FieldName(tc.segment, tc.n); got != tc.want {
				t.Errorf("FieldName(%q, %d) = %q, want %q", tc.segment, tc.n, got, tc.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		segment string
		n       int
		want    Field
		ok      bool
	}{
		{"MSH-9 base type", "MSH", 9, Field{"MSH", 9, "Message Type", "MSG"}, true},
		{"PID-5", "PID", 5, Field{"PID", 5, "Patient Name", "XPN"}, true},
		{"OBX-5 varies", "OBX", 5, Field{"OBX", 5, "Observation Value", "varies"}, true},
		{"EVN-1", "EVN", 1, Field{"EVN", 1, "Event Type Code", "ID"}, true},
		{"unknown", "ZZZ", 1, Field{}, false},
		{"out of range", "MSA", 99, Field{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Lookup(tc.segment, tc.n)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Lookup(%q, %d) = %+v, %v; want %+v, %v", tc.segment, tc.n, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSegmentName(t *testing.T) {
	tests := []struct {
		segment string
		want    string
	}{
		{"MSH", "Message Header"},
		{"EVN", "Event Type"},
		{"PID", "Patient Identification"},
		{"PD1", "Patient Additional Demographic"},
		{"NK1", "Next of Kin / Associated Parties"},
		{"PV1", "Patient Visit"},
		{"PV2", "Patient Visit - Additional Information"},
		{"ORC", "Common Order"},
		{"TQ1", "Timing/Quantity"},
		{"RXA", "Pharmacy/Treatment Administration"},
		{"RXR", "Pharmacy/Treatment Route"},
		{"OBX", "Observation/Result"},
		{"NTE", "Notes and Comments"},
		{"IN1", "Insurance"},
		{"SFT", "Software Segment"},
		{"QPD", "Query Parameter Definition"},
		{"RCP", "Response Control Parameter"},
		{"QAK", "Query Acknowledgment"},
		{"MSA", "Message Acknowledgment"},
		{"ERR", "Error"},
		{"ZZZ", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.segment, func(t *testing.T) {
			if got := SegmentName(tc.segment); got != tc.want {
				t.Errorf("SegmentName(%q) = %q, want %q", tc.segment, got, tc.want)
			}
		})
	}
}

// TestSegments checks that every segment the IG uses is present, with a
// name, and that fields.tsv and the segment-name table agree.
func TestSegments(t *testing.T) {
	want := []string{
		"ERR", "EVN", "IN1", "MSA", "MSH", "NK1", "NTE", "OBX", "ORC", "PD1",
		"PID", "PV1", "PV2", "QAK", "QPD", "RCP", "RXA", "RXR", "SFT", "TQ1",
	}
	if got := Segments(); !slices.Equal(got, want) {
		t.Errorf("Segments() = %v, want %v", got, want)
	}
	if got := slices.Sorted(maps.Keys(segmentNames)); !slices.Equal(got, want) {
		t.Errorf("segment-name table has %v, want %v", got, want)
	}
	s := Segments()
	s[0] = "XXX"
	if Segments()[0] != want[0] {
		t.Error("Segments() returned shared storage")
	}
}

// TestFields checks, for every segment, that fields are numbered 1..N with
// no gaps or duplicates, and carry their segment, a name and a data type.
func TestFields(t *testing.T) {
	wantCount := map[string]int{
		"MSH": 25, "EVN": 7, "PID": 39, "PD1": 21, "NK1": 39, "PV1": 52,
		"PV2": 49, "ORC": 31, "TQ1": 14, "RXA": 26, "RXR": 6, "OBX": 25,
		"NTE": 4, "IN1": 53, "SFT": 6, "QPD": 13, "RCP": 7, "QAK": 6,
		"MSA": 6, "ERR": 12,
	}
	for _, seg := range Segments() {
		t.Run(seg, func(t *testing.T) {
			fs := Fields(seg)
			if len(fs) != wantCount[seg] {
				t.Errorf("len(Fields(%q)) = %d, want %d", seg, len(fs), wantCount[seg])
			}
			for i, f := range fs {
				if f.Number != i+1 {
					t.Errorf("Fields(%q)[%d].Number = %d, want %d", seg, i, f.Number, i+1)
				}
				if f.Segment != seg || f.Name == "" || f.DataType == "" {
					t.Errorf("Fields(%q)[%d] = %+v: wrong segment or empty name/type", seg, i, f)
				}
				if g, ok := Lookup(seg, f.Number); !ok || g != f {
					t.Errorf("Lookup(%q, %d) = %+v, %v; want %+v", seg, f.Number, g, ok, f)
				}
			}
		})
	}
	if fs := Fields("ZZZ"); fs != nil {
		t.Errorf("Fields(unknown) = %v, want nil", fs)
	}
	fs := Fields("MSA")
	fs[0].Name = "changed"
	if FieldName("MSA", 1) == "changed" {
		t.Error("Fields returned shared storage")
	}
}

func TestParseErrors(t *testing.T) {
	const h = fieldsHeader + "\n"
	tests := []struct {
		name string
		data string
	}{
		{"no header", "# only a comment\n"},
		{"bad header", "seg\tfield\n"},
		{"short row", h + "PID\t1\tSet ID - PID\n"},
		{"bad number", h + "PID\tone\tSet ID - PID\tSI\n"},
		{"gap", h + "PID\t1\tSet ID - PID\tSI\nPID\t3\tPatient Identifier List\tCX\n"},
		{"duplicate", h + "PID\t1\tSet ID - PID\tSI\nPID\t1\tSet ID - PID\tSI\n"},
		{"not from 1", h + "PID\t2\tPatient ID\tCX\n"},
		{"empty name", h + "PID\t1\t\tSI\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse(tc.data); err == nil {
				t.Errorf("parse(%q) = nil error, want an error", tc.data)
			}
		})
	}
}

// TestGenerated checks that the committed fields.tsv is what gen.go
// produces from the NIST profiles, when those are present.
func TestGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run gen.go")
	}
	src := filepath.Join("..", "..", "..", "..", "shared", "testdata", "nist-profiles")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("NIST profiles not present: %v", err)
	}
	out := filepath.Join(t.TempDir(), "fields.tsv")
	cmd := exec.CommandContext(t.Context(), "go", "run", "gen.go", "-src", src, "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen.go: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(fieldsTSV)) {
		t.Error("fields.tsv is stale: run go generate in transforms/hl7/dict")
	}
}
