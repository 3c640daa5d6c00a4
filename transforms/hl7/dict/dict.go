package dict

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed fields.tsv
var fieldsTSV string

// Field describes one field of a segment.
type Field struct {
	Segment  string // segment ID, e.g. "PID"
	Number   int    // 1-based field position; MSH-1 is the field separator
	Name     string // HL7 field name, e.g. "Patient Name"
	DataType string // base HL7 v2.5.1 data type, e.g. "XPN"; "varies" for OBX-5
}

// segmentNames holds the HL7 v2.5.1 name of every segment in fields.tsv.
var segmentNames = map[string]string{
	"MSH": "Message Header",
	"EVN": "Event Type",
	"PID": "Patient Identification",
	"PD1": "Patient Additional Demographic",
	"NK1": "Next of Kin / Associated Parties",
	"PV1": "Patient Visit",
	"PV2": "Patient Visit - Additional Information",
	"ORC": "Common Order",
	"TQ1": "Timing/Quantity",
	"RXA": "Pharmacy/Treatment Administration",
	"RXR": "Pharmacy/Treatment Route",
	"OBX": "Observation/Result",
	"NTE": "Notes and Comments",
	"IN1": "Insurance",
	"SFT": "Software Segment",
	"QPD": "Query Parameter Definition",
	"RCP": "Response Control Parameter",
	"QAK": "Query Acknowledgment",
	"MSA": "Message Acknowledgment",
	"ERR": "Error",
}

// fieldsHeader is the column header line of fields.tsv.
const fieldsHeader = "segment\tfield\tname\tdatatype"

// table returns the parsed fields.tsv, keyed by segment ID; each slice is
// ordered by Number and Number equals index+1. It panics if the embedded
// data is malformed, which the package tests rule out.
var table = sync.OnceValue(func() map[string][]Field {
	t, err := parse(fieldsTSV)
	if err != nil {
		panic(err)
	}
	return t
})

// parse decodes fields.tsv. Lines starting with '#' are comments; the first
// other line must be fieldsHeader. Fields of a segment must appear in order,
// numbered contiguously from 1.
func parse(data string) (map[string][]Field, error) {
	t := make(map[string][]Field)
	header := false
	lineNo := 0
	for line := range strings.Lines(data) {
		lineNo++
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !header {
			if line != fieldsHeader {
				return nil, fmt.Errorf("dict: fields.tsv line %d: bad header", lineNo)
			}
			header = true
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 {
			return nil, fmt.Errorf("dict: fields.tsv line %d: want 4 columns, got %d", lineNo, len(cols))
		}
		n, err := strconv.Atoi(cols[1])
		if err != nil {
			return nil, fmt.Errorf("dict: fields.tsv line %d: field number: %w", lineNo, err)
		}
		seg := cols[0]
		if n != len(t[seg])+1 {
			return nil, fmt.Errorf("dict: fields.tsv line %d: %s-%d out of sequence", lineNo, seg, n)
		}
		if cols[2] == "" || cols[3] == "" {
			return nil, fmt.Errorf("dict: fields.tsv line %d: empty name or data type", lineNo)
		}
		t[seg] = append(t[seg], Field{Segment: seg, Number: n, Name: cols[2], DataType: cols[3]})
	}
	if !header {
		return nil, errors.New("dict: fields.tsv: missing header")
	}
	return t, nil
}

// Lookup returns the field at position n of segment, and whether it is
// known.
func Lookup(segment string, n int) (Field, bool) {
	fs := table()[segment]
	if n < 1 || n > len(fs) {
		return Field{}, false
	}
	return fs[n-1], true
}

// FieldName returns the HL7 name of field n of segment (for example
// FieldName("PID", 5) is "Patient Name"), or "" if either is unknown.
func FieldName(segment string, n int) string {
	f, _ := Lookup(segment, n)
	return f.Name
}

// SegmentName returns the HL7 name of segment (for example SegmentName("RXA")
// is "Pharmacy/Treatment Administration"), or "" if it is unknown.
func SegmentName(segment string) string {
	return segmentNames[segment]
}

// Fields returns every field of segment ordered by Number, or nil if the
// segment is unknown. The slice is a copy the caller may modify.
func Fields(segment string) []Field {
	return slices.Clone(table()[segment])
}

// Segments returns the IDs of the known segments, sorted. The slice is a
// copy the caller may modify.
func Segments() []string {
	return slices.Sorted(maps.Keys(table()))
}
