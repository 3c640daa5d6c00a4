package hl7

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// messagesDir is the project-level copy of the shared sample messages.
const messagesDir = "../../testdata/messages"

// sampleFiles returns every .hl7 file under dir, sorted.
func sampleFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hl7") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func mustParse(t testing.TB, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseRoundTripSamples(t *testing.T) {
	files := sampleFiles(t, messagesDir)
	if len(files) != 71 {
		t.Fatalf("found %d sample messages in %s, want 71", len(files), messagesDir)
	}
	files = append(files, sampleFiles(t, "testdata/synthetic")...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !bytes.Equal(m.Encode(), raw) || !bytes.Equal(m.Raw(), raw) {
				t.Fatal("Encode of an unedited message differs from its input")
			}
			// The segments are in order, do not overlap, and only blank lines
			// lie between them.
			idx := m.index()
			for i := 1; i < len(idx); i++ {
				if gap := raw[idx[i-1].next:idx[i].off]; idx[i-1].next > idx[i].off || !isBlank(gap) {
					t.Fatalf("bad gap before segment %d", i+1)
				}
			}
			if m.SegmentCount() < 2 {
				t.Fatalf("SegmentCount = %d", m.SegmentCount())
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		file  string
		want  error
		seg   string
		seq   int
		field int
	}{
		{"empty.hl7", ErrEmpty, "", 0, 0},
		{"whitespace_only.hl7", ErrEmpty, "", 0, 0},
		{"no_msh.hl7", ErrNoMSH, "", 0, 0},
		{"batch_without_msh.hl7", ErrNoMSH, "", 0, 0},
		{"garbage_before_msh.hl7", ErrNoMSH, "", 0, 0},
		{"bad_delims_msh2_too_short.hl7", ErrBadDelimiters, "MSH", 1, 2},
		{"bad_delims_msh2_too_long.hl7", ErrBadDelimiters, "MSH", 1, 2},
		{"bad_delims_duplicate.hl7", ErrBadDelimiters, "MSH", 1, 2},
		{"bad_delims_alnum_field_sep.hl7", ErrBadDelimiters, "MSH", 1, 1},
		{"vt_inside_pid.hl7", ErrFramingByte, "PID", 1, 5},
		{"fs_inside_rxa.hl7", ErrFramingByte, "RXA", 1, 5},
		{"full_mllp_frame.hl7", ErrFramingByte, "", 0, 0},
		{"segment_id_lowercase.hl7", ErrBadSegmentID, "", 2, 0},
		{"segment_id_short.hl7", ErrBadSegmentID, "", 3, 0},
		{"segment_id_no_separator.hl7", ErrBadSegmentID, "", 3, 0},
		{"segment_indented.hl7", ErrBadSegmentID, "", 2, 0},
	}
	files := sampleFiles(t, "testdata/malformed")
	if len(files) != len(tests) {
		t.Errorf("%d files in testdata/malformed, %d cases in the table", len(files), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata/malformed", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(raw)
			if m != nil || err == nil {
				t.Fatalf("Parse = %v, %v; want error", m, err)
			}
			pe, ok := errors.AsType[*ParseError](err)
			if !ok {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if !errors.Is(err, tc.want) || pe.Segment != tc.seg || pe.Seq != tc.seq || pe.Field != tc.field {
				t.Errorf("got %q = {%q %d %d %v}, want {%q %d %d %v}", err, pe.Segment, pe.Seq, pe.Field, pe.Err,
					tc.seg, tc.seq, tc.field, tc.want)
			}
			for _, marker := range canaries {
				if strings.Contains(err.Error(), marker) {
					t.Errorf("error text contains canary %q", marker)
				}
			}
		})
	}
}

func TestParseErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *ParseError
		want string
	}{
		{"positioned", &ParseError{Segment: "PID", Seq: 1, Field: 7, Err: ErrFramingByte}, "PID[1]-7: hl7: MLLP framing byte inside message"},
		{"ordinal", &ParseError{Seq: 3, Err: ErrBadSegmentID}, "segment 3: hl7: invalid segment id"},
		{"nowhere", &ParseError{Err: ErrEmpty}, "hl7: empty message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if !errors.Is(tc.err, tc.err.Err) {
				t.Error("Unwrap does not reach the sentinel")
			}
		})
	}
}

func TestParseDelimiters(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want Delimiters
	}{
		{"standard", "MSH|^~\\&|A\rPID|1\r", Standard},
		{"non-standard", "MSH*%$#!*A\rPID*1\r", Delimiters{'*', '%', '$', '#', '!', 0}},
		{"three chars", "MSH|^~\\|A\rPID|1\r", Delimiters{'|', '^', '~', '\\', 0, 0}},
		{"truncation", "MSH|^~\\&#|A\rPID|1\r", Delimiters{'|', '^', '~', '\\', '&', '#'}},
		{"MSH-2 ends the segment", "MSH|^~\\&\rPID|1\r", Standard},
		{"MSH only, no terminator", "MSH|^~\\&|A|B", Standard},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.msg)
			if got := m.Delims(); got != tc.want {
				t.Errorf("Delims() = %+v, want %+v", got, tc.want)
			}
			if got := m.Value("MSH-2"); got != tc.want.encodingChars() {
				t.Errorf("MSH-2 = %q, want %q", got, tc.want.encodingChars())
			}
		})
	}
}

func TestParseTerminatorsAndWrappers(t *testing.T) {
	tests := []struct {
		name  string
		msg   string
		names string
	}{
		{"CR", "MSH|^~\\&|A\rPID|1\rRXA|0\r", "MSH PID RXA"},
		{"LF", "MSH|^~\\&|A\nPID|1\nRXA|0\n", "MSH PID RXA"},
		{"CRLF", "MSH|^~\\&|A\r\nPID|1\r\nRXA|0\r\n", "MSH PID RXA"},
		{"mixed", "MSH|^~\\&|A\r\nPID|1\nRXA|0\rOBX|1", "MSH PID RXA OBX"},
		{"LF CR is a blank line", "MSH|^~\\&|A\n\rPID|1\n\r", "MSH PID"},
		{"indented MSH", "  \tMSH|^~\\&|A\rPID|1\r", "MSH PID"},
		{"whitespace around", " \r\n\t\nMSH|^~\\&|A\rPID|1\r\n \n\t", "MSH PID"},
		{"blank lines inside", "MSH|^~\\&|A\r\r\n\nPID|1\r  \rRXA|0", "MSH PID RXA"},
		{"batch wrappers", "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rPID|1\rBTS|1\rFTS|1\r", "MSH PID"},
		{"segment without fields", "MSH|^~\\&|A\rPID\rZZ1|x", "MSH PID ZZ1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.msg)
			var names []string
			for s := range m.Segments() {
				names = append(names, s.Name())
			}
			if got := strings.Join(names, " "); got != tc.names {
				t.Errorf("segments = %q, want %q", got, tc.names)
			}
			if string(m.Encode()) != tc.msg {
				t.Error("Encode differs from input")
			}
			if s, _ := m.Segment("PID", 1); bytes.ContainsAny(s.Raw(), "\r\n") {
				t.Error("Segment.Raw holds a terminator")
			}
		})
	}
}

func TestParseManySegments(t *testing.T) {
	// More segments than the inline index holds.
	var b strings.Builder
	b.WriteString("MSH|^~\\&|A\rPID|1||PAT123\r")
	for range 3 * inlineSegs {
		b.WriteString("OBX|1|ST|x||v\r")
	}
	b.WriteString("NTE|1||last\r")
	m := mustParse(t, b.String())
	if got, want := m.SegmentCount(), 3*inlineSegs+3; got != want {
		t.Fatalf("SegmentCount = %d, want %d", got, want)
	}
	if got := m.Value("NTE-3"); got != "last" {
		t.Errorf("NTE-3 = %q", got)
	}
	if got := m.Value("OBX[144]-5"); got != "v" {
		t.Errorf("OBX[144]-5 = %q", got)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"empty", "", nil},
		{"one", "MSH|^~\\&|A\rPID|1\r", []string{"MSH|^~\\&|A\rPID|1"}},
		{"batch", "FHS|^~\\&\r\nBHS|^~\\&\r\nMSH|^~\\&|1\r\nPID|1\r\n\r\nMSH|^~\\&|2\r\nPID|2\r\nBTS|2\r\nFTS|1\r\n",
			[]string{"MSH|^~\\&|1\r\nPID|1", "MSH|^~\\&|2\r\nPID|2"}},
		{"LF and blank lines", "\n\nMSH|^~\\&|1\nPID|1\n\n\nMSH|^~\\&|2\nPID|2\n", []string{"MSH|^~\\&|1\nPID|1", "MSH|^~\\&|2\nPID|2"}},
		{"indented and trailing spaces", "  MSH|^~\\&|1  \r  \rMSH|^~\\&|2\r", []string{"MSH|^~\\&|1", "MSH|^~\\&|2"}},
		{"garbage before first MSH", "hello\rMSH|^~\\&|1\r", []string{"MSH|^~\\&|1"}},
		{"blank line inside kept", "MSH|^~\\&|1\r\rPID|1\r", []string{"MSH|^~\\&|1\r\rPID|1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.data)
			got := Split(data)
			if len(got) != len(tc.want) {
				t.Fatalf("Split gave %d messages, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if string(got[i]) != tc.want[i] {
					t.Errorf("message %d = %q, want %q", i, got[i], tc.want[i])
				}
				if len(got[i]) > 0 && &got[i][0] != &data[bytes.Index(data, got[i])] {
					t.Errorf("message %d is a copy, want a sub-slice", i)
				}
				if _, err := Parse(got[i]); err != nil {
					t.Errorf("message %d: %v", i, err)
				}
			}
		})
	}
}

// TestLazyIndex checks that Parse leaves the index for first access and that
// concurrent first accesses are safe (run with -race).
func TestLazyIndex(t *testing.T) {
	raw, err := os.ReadFile("testdata/bench_vxu.hl7")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.segs != nil {
		t.Fatal("Parse built the segment index eagerly")
	}
	done := make(chan string)
	for range 4 {
		go func() { done <- m.Value("PID-5.1") }()
	}
	for range 4 {
		if v := <-done; v != "Wells" {
			t.Errorf("PID-5.1 = %q", v)
		}
	}
}
