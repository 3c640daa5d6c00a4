package iis

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		in   ACKError
		want string
	}{
		{"NIST fatal CVX", ACKError{Location: "RXA^1^5^1^1", Code: "999", Severity: "E", AppCode: "5", Message: "Vaccine code not recognized"},
			"Error in RXA-5 (Administered Code) of the 1st RXA: a code is not in the registry's code table."},
		{"warning 2nd RXR", ACKError{Location: "RXR^2^2^1^1", Code: "999", Severity: "W", AppCode: "5"},
			"Warning in RXR-2 (Administration Site) of the 2nd RXR: a code is not in the registry's code table."},
		{"AR version, MSH without sequence", ACKError{Location: "MSH^12^1^1", Code: "203", Severity: "E"},
			"Error in MSH-12 (Version ID): the registry does not support this HL7 version."},
		{"MSH with sequence", ACKError{Location: "MSH^1^12^1^1", Code: "203", Severity: "E"},
			"Error in MSH-12 (Version ID): the registry does not support this HL7 version."},
		{"0357 note beside 0533", ACKError{Location: "MSH^1^6^1", Code: "102", Severity: "W", AppCode: "4"},
			"Warning in MSH-6 (Receiving Facility): a value is not valid (HL7: data type error)."},
		{"0357 note left out when it repeats 0533", ACKError{Location: "PID^1^5^1^1", Code: "101", Severity: "E", AppCode: "7"},
			"Error in PID-5 (Patient Name) of the 1st PID: required data is missing."},
		{"0357 table note left out", ACKError{Code: "103", Severity: "W", AppCode: "5"},
			"Warning: a code is not in the registry's code table."},
		{"0357 message-level note kept", ACKError{Code: "207", Severity: "E", AppCode: "8"},
			"Error: the registry ignored this data (HL7: application internal error)."},
		{"information accepted", ACKError{Code: "0", Severity: "I", Message: "Message accepted with 1 vaccination"},
			"Information: the message was accepted."},
		{"notice", ACKError{Code: "0", Severity: "n"}, "Notice: the message was accepted."},
		{"no severity, internal error", ACKError{Code: "207"},
			"Problem (no severity given): the registry had an internal error while processing the message."},
		{"unknown severity", ACKError{Code: "101", Severity: "X"}, "Problem (unknown severity): a required field is empty."},
		{"local app code in ERR-5.4", ACKError{Location: "ORC^1^2^1", Code: "101", Severity: "W", AppCode: "DQA0387"},
			"Warning in ORC-2 (Placer Order Number) of the 1st ORC: a required field is empty (registry code DQA0387)."},
		{"field.component", ACKError{Location: "RXA^1^11.4^1", Code: "101", Severity: "W"},
			"Warning in RXA-11.4 (Administered-at Location, component 4) of the 1st RXA: a required field is empty."},
		{"component and subcomponent", ACKError{Location: "PID^1^3^2^4^2", Code: "101", Severity: "E"},
			"Error in PID-3.4.2 (Patient Identifier List, 2nd repetition, component 4, subcomponent 2) of the 1st PID: a required field is empty."},
		{"component", ACKError{Location: "PID^1^5^1^2", Code: "101", Severity: "W"},
			"Warning in PID-5.2 (Patient Name, component 2) of the 1st PID: a required field is empty."},
		{"ERR-1 local code only", ACKError{Location: "MSH^1^5", Code: "1006", CodeText: "Required field missing"},
			"Problem (no severity given) in MSH-5 (Receiving Application): the registry reported its own code 1006."},
		{"two local codes", ACKError{Code: "1017", AppCode: "DQA9", Severity: "W"},
			"Warning: the registry reported its own codes 1017, DQA9."},
		{"no codes, segment only", ACKError{Location: "RXA^5", Severity: "E"},
			"Error in the 5th RXA segment (Pharmacy/Treatment Administration): the registry gave no coded reason."},
		{"segment without sequence", ACKError{Location: "PV1", Code: "100", Severity: "W"},
			"Warning in the PV1 segment (Patient Visit): segments are missing, repeated or out of order."},
		{"MSH segment", ACKError{Location: "MSH^1", Code: "102"},
			"Problem (no severity given) in the MSH segment (Message Header): a value does not have the format its HL7 data type requires."},
		{"repetition 0 ignored", ACKError{Location: "OBX^2^3^0", Code: "204"},
			"Problem (no severity given) in OBX-3 (Observation Identifier) of the 2nd OBX: the registry does not know an identifier the message refers to."},
		{"unknown segment", ACKError{Location: "ZXY^1^2", Code: "101", Severity: "E"},
			"Error in ZXY-2 of the 1st ZXY: a required field is empty."},
		{"unknown field", ACKError{Location: "PID^1^99", Code: "101", Severity: "E"},
			"Error in PID-99 of the 1st PID: a required field is empty."},
		{"22nd OBX", ACKError{Location: "OBX^22^5", AppCode: "4", Severity: "W"},
			"Warning in OBX-5 (Observation Value) of the 22nd OBX: a value is not valid."},
		{"free text location dropped", ACKError{Location: "Patient ZZTEST^1^5", Code: "101", Severity: "E"},
			"Error: a required field is empty."},
		{"free text codes dropped", ACKError{Code: "Invalid name ZZTEST", AppCode: "PAT 123 x", Severity: "E"},
			"Error: the registry gave no coded reason."},
		{"ERR-3.1 not a number is free text", ACKError{Code: "ZZTEST", Severity: "E"},
			"Error: the registry gave no coded reason."},
		{"empty", ACKError{}, "Problem (no severity given): the registry gave no coded reason."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Explain(tc.in); got != tc.want {
				t.Errorf("Explain(%#v)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th",
		21: "21st", 22: "22nd", 23: "23rd", 101: "101st", 111: "111th", 112: "112th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestExplainCode(t *testing.T) {
	tests := []struct {
		system, code string
		want         string
		ok           bool
	}{
		{"0533", "5", "a code is not in the registry's code table", true},
		{"HL70533", " 5 ", "a code is not in the registry's code table", true},
		{"cdc0533", "8", "the registry ignored this data", true},
		{"0357", "203", "the registry does not support this HL7 version", true},
		{"hl70357", "0", "the message was accepted", true},
		{"0357", "5", "", false},
		{"0533", "999", "", false},
		{"0516", "E", "", false},
		{"L", "DQA0051", "", false},
		{"", "101", "", false},
	}
	for _, tc := range tests {
		got, ok := ExplainCode(tc.system, tc.code)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ExplainCode(%q, %q) = %q, %v; want %q, %v", tc.system, tc.code, got, ok, tc.want, tc.ok)
		}
	}
}

// TestExplainCoversTables checks that every code of the package's tables
// has an explanation and no explanation lacks a table entry.
func TestExplainCoversTables(t *testing.T) {
	for _, tc := range []struct {
		system  string
		names   map[string]string
		explain map[string]string
	}{{"0357", table0357, explain0357}, {"0533", table0533, explain0533}} {
		if len(tc.names) != len(tc.explain) {
			t.Errorf("%s: %d names, %d explanations", tc.system, len(tc.names), len(tc.explain))
		}
		for code := range tc.names {
			if x, ok := ExplainCode(tc.system, code); !ok || x == "" || x != strings.ToLower(x[:1])+x[1:] || strings.HasSuffix(x, ".") {
				t.Errorf("%s %s: explanation %q (want a lower-case clause without final period)", tc.system, code, x)
			}
		}
	}
}

// TestExplainMatchesSharedTSV compares the tables with the value-set files
// they were taken from, when ../shared is checked out next to the repo.
func TestExplainMatchesSharedTSV(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "codes")
	for _, tc := range []struct {
		file   string
		system string
		names  map[string]string
	}{
		{"hl70357_message_error_condition.tsv", "0357", table0357},
		{"cdc0533_application_error_code.tsv", "0533", table0533},
		{"hl70516_error_severity.tsv", "0516", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Skipf("shared code tables not available: %v", err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Scan() // header: code, display, source
			n := 0
			for sc.Scan() {
				cols := strings.Split(sc.Text(), "\t")
				if len(cols) < 2 {
					continue
				}
				n++
				code, display := cols[0], cols[1]
				if tc.names == nil { // severities
					if _, ok := severityWords[code]; !ok {
						t.Errorf("severity %s has no words", code)
					}
					continue
				}
				if tc.names[code] != display {
					t.Errorf("code %s: table says %q, TSV %q", code, tc.names[code], display)
				}
				if _, ok := ExplainCode(tc.system, code); !ok {
					t.Errorf("code %s has no explanation", code)
				}
			}
			if tc.names != nil && n != len(tc.names) {
				t.Errorf("TSV has %d codes, table %d", n, len(tc.names))
			}
		})
	}
}

// TestExplanationCanary checks that explanations built by Classify from
// PHI-laden ACKs (see TestClassifyCanary) carry none of the markers.
func TestExplanationCanary(t *testing.T) {
	inputs := [][]byte{
		ack("MSA|AE|C1|ZZTEST ALICE PAT123 born 20200101",
			"ERR||PID^1^5|^Invalid name ZZTEST ALICE^HL70357|E|^PAT123 not valid^HL70533^^DOB 20200101^L|||Patient ZZTEST PAT123 20200101 rejected"),
		ack("MSA|AE|C1", "ERR||PID^20200101^ZZTEST|ZZTEST^x|ZZTEST|PAT123 ZZTEST^^^ZZTEST PAT123"),
		ack("MSA|AE|C1", "ERR|PID^1^3^ZZTEST PAT123&ZZTEST text&HL70357"),
		ack("MSA|AA|C1", "ERR||ZZTEST^1^5|101|W|||||Name ZZTEST"),
	}
	for i, in := range inputs {
		c := Classify(in)
		if len(c.Errors) == 0 {
			t.Fatalf("input %d: no errors", i)
		}
		for _, e := range c.Errors {
			for _, mk := range []string{"ZZTEST", "PAT123", "20200101", "ALICE"} {
				if strings.Contains(e.Explanation, mk) {
					t.Errorf("input %d: marker %s in explanation %q", i, mk, e.Explanation)
				}
			}
		}
	}
}

func TestClassifyFillsExplanation(t *testing.T) {
	c := Classify(ack("MSA|AE|C1",
		"ERR||RXR^1^2^1^1|999^Application error^HL70357|W|5^Table value not found^HL70533|||Site not recognized",
		"ERR|^^^207&Application internal error&HL70357"))
	want := []string{
		"Warning in RXR-2 (Administration Site) of the 1st RXR: a code is not in the registry's code table.",
		"Problem (no severity given): the registry had an internal error while processing the message.",
	}
	if len(c.Errors) != len(want) {
		t.Fatalf("got %d errors", len(c.Errors))
	}
	for i, e := range c.Errors {
		if e.Explanation != want[i] || e.Explanation != Explain(e) {
			t.Errorf("error %d: explanation %q, want %q", i, e.Explanation, want[i])
		}
	}
}

func ExampleExplain() {
	e := ACKError{Location: "RXA^1^5^1^1", Code: "999", Severity: "E", AppCode: "5",
		Message: "Vaccine code not recognized - message rejected"}
	fmt.Println(Explain(e))
	// Output: Error in RXA-5 (Administered Code) of the 1st RXA: a code is not in the registry's code table.
}

func ExampleExplainCode() {
	fmt.Println(ExplainCode("0357", "101"))
	fmt.Println(ExplainCode("HL70533", "8"))
	// Output:
	// a required field is empty true
	// the registry ignored this data true
}

func BenchmarkExplain(b *testing.B) {
	e := ACKError{Location: "RXA^1^11.4^1", Code: "101", Severity: "W", AppCode: "DQA0314"}
	b.ReportAllocs()
	for b.Loop() {
		Explain(e)
	}
}
