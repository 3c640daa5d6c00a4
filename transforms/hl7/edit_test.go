package hl7

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	const base = "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|CTL1|P|2.5.1\r\n" +
		"PID|1||PAT123^^^CLINIC^MR||ZZTEST^BABY||20200101\r" +
		"RXA|0|1|20250101||08^HepB^CVX\n" +
		"OBX\r"
	tests := []struct {
		name, path, value string
		raw               bool
		wantSeg           string // the edited segment, without terminator
		readBack          string
	}{
		{"field", "PID-7", "20200102", false, "PID|1||PAT123^^^CLINIC^MR||ZZTEST^BABY||20200102", "20200102"},
		{"new field", "PID-10", "x", false, "PID|1||PAT123^^^CLINIC^MR||ZZTEST^BABY||20200101|||x", "x"},
		{"escaped", "PID-5.2", "A^B|C", false, "PID|1||PAT123^^^CLINIC^MR||ZZTEST^A\\S\\B\\F\\C||20200101", "A^B|C"},
		{"component", "PID-5.4", "JR", false, "PID|1||PAT123^^^CLINIC^MR||ZZTEST^BABY^^JR||20200101", "JR"},
		{"repetition", "PID-3[3]", "X", false, "PID|1||PAT123^^^CLINIC^MR~~X||ZZTEST^BABY||20200101", "X"},
		{"rep component", "PID-3[2].5", "SR", false, "PID|1||PAT123^^^CLINIC^MR~^^^^SR||ZZTEST^BABY||20200101", "SR"},
		{"sub-component", "PID-3.4.2", "1.2.3", false, "PID|1||PAT123^^^CLINIC&1.2.3^MR||ZZTEST^BABY||20200101", "1.2.3"},
		{"new sub-component", "PID-3.6.3", "ISO", false, "PID|1||PAT123^^^CLINIC^MR^&&ISO||ZZTEST^BABY||20200101", "ISO"},
		{"empty value", "PID-5", "", false, "PID|1||PAT123^^^CLINIC^MR||||20200101", ""},
		{"line break escaped", "PID-5.1", "a\r\nb", false, "PID|1||PAT123^^^CLINIC^MR||a\\X0D\\\\X0A\\b^BABY||20200101", "a\r\nb"},
		{"segment without fields", "OBX-3.2", "x", false, "OBX|||^x", "x"},
		{"MSH-10", "MSH-10", "CTL2", false, "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|CTL2|P|2.5.1", "CTL2"},
		{"MSH-3", "MSH-3", "APP", false, "MSH|^~\\&|APP|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|CTL1|P|2.5.1", "APP"},
		{"raw composite", "RXA-5", "20^DTaP^CVX", true, "RXA|0|1|20250101||20^DTaP^CVX", "20^DTaP^CVX"},
		{"raw reps", "PID-3", "A^^^X^MR~B^^^Y^SR", true, "PID|1||A^^^X^MR~B^^^Y^SR||ZZTEST^BABY||20200101", "A^^^X^MR~B^^^Y^SR"},
		{"raw escape", "PID-5.1", "O\\E\\B", true, "PID|1||PAT123^^^CLINIC^MR||O\\E\\B^BABY||20200101", "O\\B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, base)
			set := m.Set
			if tc.raw {
				set = m.SetRaw
			}
			e, err := set(tc.path, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Raw()) != base {
				t.Fatal("the receiver was modified")
			}
			p, _ := parsePath(tc.path)
			seg, _ := e.Segment(p.seg, p.occ)
			if string(seg.Raw()) != tc.wantSeg {
				t.Errorf("segment = %q\nwant      %q", seg.Raw(), tc.wantSeg)
			}
			if got := e.Value(tc.path); got != tc.readBack {
				t.Errorf("read back %q, want %q", got, tc.readBack)
			}
			old, _ := m.Segment(p.seg, p.occ)
			want := strings.Replace(base, string(old.Raw()), tc.wantSeg, 1)
			if string(e.Encode()) != want {
				t.Errorf("Encode = %q\nwant     %q", e.Encode(), want)
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	m := mustParse(t, "MSH|^~\\|EHR\rPID|1||PAT123\r")
	tests := []struct {
		name, path, value string
		raw               bool
		want              error
	}{
		{"bad path", "PID-0", "x", false, ErrBadPath},
		{"missing segment", "RXA-5", "x", false, ErrNotFound},
		{"missing occurrence", "PID[2]-5", "x", false, ErrNotFound},
		{"MSH-1", "MSH-1", "#", false, ErrReadOnly},
		{"MSH-2", "MSH-2", "^~\\&", true, ErrReadOnly},
		{"no sub-component delimiter", "PID-3.1.2", "x", false, ErrBadPath},
		{"raw field separator", "PID-3", "a|b", true, ErrBadValue},
		{"raw terminator", "PID-3", "a\rb", true, ErrBadValue},
		{"raw framing byte", "PID-3", "a\x1cb", true, ErrBadValue},
		{"raw repetition in a repetition", "PID-3[1]", "a~b", true, ErrBadValue},
		{"raw component in a component", "PID-3.1", "a^b", true, ErrBadValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := m.Set
			if tc.raw {
				set = m.SetRaw
			}
			e, err := set(tc.path, tc.value)
			pe, ok := errors.AsType[*PathError](err)
			if e != nil || !ok || !errors.Is(err, tc.want) || pe.Path != tc.path {
				t.Errorf("got %v, %v; want *PathError wrapping %v", e, err, tc.want)
			}
		})
	}
}

func TestSegmentEdits(t *testing.T) {
	const crlf = "MSH|^~\\&|A\r\nPID|1\r\nRXA|0\nOBX|1\r\n"
	tests := []struct {
		name string
		base string
		edit func(*Message) (*Message, error)
		want string
	}{
		{"insert after MSH", crlf, func(m *Message) (*Message, error) { return m.InsertSegment(0, "SFT|x") },
			"MSH|^~\\&|A\r\nSFT|x\r\nPID|1\r\nRXA|0\nOBX|1\r\n"},
		{"insert after last", crlf, func(m *Message) (*Message, error) { return m.InsertSegment(3, "NTE|1") },
			crlf + "NTE|1\r\n"},
		{"append, dominant CRLF", crlf, func(m *Message) (*Message, error) { return m.AppendSegment("NTE|1") },
			crlf + "NTE|1\r\n"},
		{"append without final terminator", "MSH|^~\\&|A\nPID|1", func(m *Message) (*Message, error) { return m.AppendSegment("NTE|1") },
			"MSH|^~\\&|A\nPID|1\nNTE|1"},
		{"append before trailer and whitespace", "BHS|^~\\&\rMSH|^~\\&|A\rPID|1\rBTS|1\r\n  ", func(m *Message) (*Message, error) { return m.AppendSegment("NTE|1") },
			"BHS|^~\\&\rMSH|^~\\&|A\rPID|1\rNTE|1\rBTS|1\r\n  "},
		{"delete", crlf, func(m *Message) (*Message, error) { return m.DeleteSegment("RXA", 1) },
			"MSH|^~\\&|A\r\nPID|1\r\nOBX|1\r\n"},
		{"delete last without terminator", "MSH|^~\\&|A\rPID|1\rOBX|1", func(m *Message) (*Message, error) { return m.DeleteSegment("OBX", 1) },
			"MSH|^~\\&|A\rPID|1\r"},
		{"delete second occurrence", "MSH|^~\\&|A\rOBX|1\rOBX|2\rOBX|3\r", func(m *Message) (*Message, error) { return m.DeleteSegment("OBX", 2) },
			"MSH|^~\\&|A\rOBX|1\rOBX|3\r"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.base)
			e, err := tc.edit(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(e.Encode()); got != tc.want {
				t.Errorf("Encode = %q\nwant     %q", got, tc.want)
			}
			if string(m.Encode()) != tc.base {
				t.Error("the receiver was modified")
			}
		})
	}
}

func TestSegmentEditErrors(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|A\rPID|1\r")
	tests := []struct {
		name string
		edit func() (*Message, error)
		want error
	}{
		{"insert before MSH", func() (*Message, error) { return m.InsertSegment(-1, "SFT|x") }, ErrReadOnly},
		{"insert out of range", func() (*Message, error) { return m.InsertSegment(2, "SFT|x") }, ErrNotFound},
		{"insert bad id", func() (*Message, error) { return m.InsertSegment(0, "sft|x") }, ErrBadSegmentID},
		{"insert no separator", func() (*Message, error) { return m.AppendSegment("NTEX") }, ErrBadSegmentID},
		{"insert batch line", func() (*Message, error) { return m.AppendSegment("BTS|1") }, ErrBadSegmentID},
		{"insert MSH", func() (*Message, error) { return m.AppendSegment("MSH|^~\\&") }, ErrReadOnly},
		{"insert terminator", func() (*Message, error) { return m.AppendSegment("NTE|1\rPID|2") }, ErrBadValue},
		{"insert framing", func() (*Message, error) { return m.AppendSegment("NTE|\x0b") }, ErrBadValue},
		{"delete MSH", func() (*Message, error) { return m.DeleteSegment("MSH", 1) }, ErrReadOnly},
		{"delete missing", func() (*Message, error) { return m.DeleteSegment("RXA", 1) }, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := tc.edit()
			if e != nil || !errors.Is(err, tc.want) {
				t.Errorf("got %v, %v; want %v", e, err, tc.want)
			}
		})
	}
}

// TestEditKeepsSamples edits every sample and checks that only the edited
// segment changed.
func TestEditKeepsSamples(t *testing.T) {
	for _, f := range sampleFiles(t, messagesDir) {
		t.Run(f[len(messagesDir)+1:], func(t *testing.T) {
			m := mustParse(t, string(readFile(t, f)))
			e, err := m.Set("MSH-10", "ZZ-EDITED")
			if err != nil {
				t.Fatal(err)
			}
			msh, _ := m.Segment("MSH", 1)
			newMSH, _ := e.Segment("MSH", 1)
			old, got := m.Encode(), e.Encode()
			if !bytes.HasSuffix(got, old[len(msh.Raw()):]) || !bytes.HasPrefix(got, newMSH.Raw()) {
				t.Error("bytes outside MSH changed")
			}
			if e.ControlID() != "ZZ-EDITED" || e.Type() != m.Type() {
				t.Error("header not updated as expected")
			}
		})
	}
}
