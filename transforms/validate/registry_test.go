package validate

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// TestDemo pins what the demo messages must give: the errors the sandbox
// registry answers with (testdata/demo/README.md), and none for the
// accepted ones.
func TestDemo(t *testing.T) {
	v, err := New(Config{Now: func() time.Time { return goldenNow }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file   string
		errors []string // every Error finding, as key() writes it
		warn   bool     // warnings expected
	}{
		{file: "1_accepted.hl7"},
		{file: "2_accepted_with_warnings.hl7", warn: true},
		{file: "3_rejected_unknown_cvx.hl7", errors: []string{"error RXA^2^5^1^1 103/5 mqe.vaccine_code_unknown"}},
		{file: "4_rejected_no_birth_date.hl7", errors: []string{"error PID^1^7 101/7 profile.usage"}},
		{file: "5_query_z44.hl7"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, err := hl7.Parse(readFile(t, filepath.Join(demoDir, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			var errs []string
			warns := 0
			for _, f := range v.Validate(m) {
				switch f.Severity {
				case Error:
					errs = append(errs, key(f))
				case Warning:
					warns++
				}
			}
			if strings.Join(errs, "\n") != strings.Join(tc.errors, "\n") {
				t.Errorf("errors:\n got %q\nwant %q", errs, tc.errors)
			}
			if (warns > 0) != tc.warn {
				t.Errorf("got %d warnings, want some: %v", warns, tc.warn)
			}
		})
	}
}

// TestAgreesWithSandbox compares the Error findings with the E errors the
// project's sandbox registry answered to the same messages
// (../../sandbox/testdata/golden/<group>__<name>.ack): same location, same
// HL7 0357 code, and nothing more.
func TestAgreesWithSandbox(t *testing.T) {
	acks, err := filepath.Glob("../../sandbox/testdata/golden/*.ack")
	if err != nil || len(acks) == 0 {
		t.Fatalf("no sandbox golden ACKs (%v): they are part of the repository", err)
	}
	// The sandbox judged "in the future" on the day it ran; the samples
	// are all older than goldenNow.
	v, err := New(Config{Now: func() time.Time { return goldenNow }})
	if err != nil {
		t.Fatal(err)
	}
	for _, ack := range acks {
		group, name, ok := strings.Cut(strings.TrimSuffix(filepath.Base(ack), ".ack"), "__")
		if !ok {
			continue
		}
		msgFile := filepath.Join(messagesDir, group, name+".hl7")
		if _, err := os.Stat(msgFile); err != nil {
			continue
		}
		t.Run(group+"/"+name, func(t *testing.T) {
			want := map[string]bool{}
			a, err := hl7.Parse(readFile(t, ack))
			if err != nil {
				t.Fatal(err)
			}
			for seg := range a.SegmentsNamed("ERR") {
				if seg.Field(4).String() == "E" {
					want[seg.Field(2).String()+" "+seg.Field(3).Component(1).String()] = true
				}
			}
			m, err := hl7.Parse(readFile(t, msgFile))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, f := range v.Validate(m) {
				if f.Severity == Error {
					got[FormatLocation(f.Location)+" "+f.Code] = true
				}
			}
			for k := range want {
				if !got[k] {
					t.Errorf("the sandbox rejects with %s; the validator does not", k)
				}
			}
			for k := range got {
				if !want[k] {
					t.Errorf("the validator gives error %s; the sandbox does not", k)
				}
			}
		})
	}
}

// TestFormatLocation pins the ERR-2 text of locations.
func TestFormatLocation(t *testing.T) {
	tests := []struct {
		loc  hl7.Location
		want string
	}{
		{hl7.Location{Segment: "PID", Seq: 1, Field: 7}, "PID^1^7"},
		{hl7.Location{Segment: "RXA", Seq: 2, Field: 5, Rep: 1, Component: 1}, "RXA^2^5^1^1"},
		{hl7.Location{Segment: "RXA", Seq: 3}, "RXA^3"},
		{hl7.Location{Segment: "RCP", Seq: 1, Field: 2, Rep: 1, Component: 2, SubComponent: 1}, "RCP^1^2^1^2^1"},
		{hl7.Location{Segment: "PID", Seq: 1, Field: 7, Rep: 2}, "PID^1^7^" + strconv.Itoa(2)},
	}
	for _, tc := range tests {
		if got := FormatLocation(tc.loc); got != tc.want {
			t.Errorf("FormatLocation(%+v) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}
