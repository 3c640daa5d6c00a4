package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"os"
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

// TestEditChains checks chains of field edits, which keep edited segments
// aside from the wire bytes (Message.over), against the same edits made on
// a freshly parsed copy each time, and structural edits made after them.
func TestEditChains(t *testing.T) {
	raw, err := os.ReadFile("testdata/bench_vxu.hl7")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"MSH-6", "PID-5.1", "PID-7", "RXA[1]-5.1", "RXA[2]-5.1", "OBX[1]-5", "OBX[2]-5",
		"PID-5.1", "ORC[1]-3", "ORC[2]-3", "RXR[1]-1", "NK1-2.1", "MSH-10", "PD1-11", "OBX[6]-5", "RXR[2]-2", "OBX[3]-3", "MSH-6"}
	m, err := Parse(bytes.Clone(raw))
	if err != nil {
		t.Fatal(err)
	}
	ref := m
	for k, p := range paths {
		v := fmt.Sprintf("V%02d^x", k) // the ^ is escaped by Set
		if m, err = m.Set(p, v); err != nil {
			t.Fatalf("edit %d %s: %v", k, p, err)
		}
		fresh, err := Parse(bytes.Clone(ref.Raw()))
		if err != nil {
			t.Fatal(err)
		}
		if ref, err = fresh.Set(p, v); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.Raw(), ref.Raw()) {
			t.Fatalf("after edit %d (%s) the chain's bytes differ from the reference", k, p)
		}
		for _, q := range paths[:k+1] {
			if m.Value(q) != ref.Value(q) {
				t.Fatalf("after edit %d: %s reads %q, reference %q", k, q, m.Value(q), ref.Value(q))
			}
		}
	}
	if !bytes.Equal(m.Raw(), m.Encode()) || len(m.Raw()) != m.size() {
		t.Fatal("Raw, Encode and size disagree")
	}
	// Structural edits on a message with edits kept aside.
	e, err := Parse(bytes.Clone(raw))
	if err != nil {
		t.Fatal(err)
	}
	if e, err = e.Set("PID-5.1", "CHAINED"); err != nil {
		t.Fatal(err)
	}
	ins, err := e.InsertSegment(1, "ZZZ|1")
	if err != nil || ins.Value("PID-5.1") != "CHAINED" || ins.Value("ZZZ-1") != "1" {
		t.Fatalf("insert after an edit: %v %q", err, ins.Value("PID-5.1"))
	}
	del, err := e.DeleteSegment("PD1", 1)
	if err != nil || del.Value("PID-5.1") != "CHAINED" {
		t.Fatalf("delete after an edit: %v", err)
	}
	pieces := make([]Piece, e.SegmentCount())
	for i := range pieces {
		pieces[i] = Piece{Orig: i}
	}
	reb, err := e.Rebuild(pieces)
	if err != nil || !bytes.Equal(reb.Raw(), e.Raw()) {
		t.Fatalf("rebuild of an edited message in order is not the message: %v", err)
	}
}

func TestReplaceSegment(t *testing.T) {
	m, err := Parse([]byte("MSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\rPID|1||X^^^A^MR\rRXA|0|1|20250101\r"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		i    int
		seg  string
		want error
	}{
		{2, "RXA|0|1|20250102", nil},
		{0, "MSH|^~\\&|Z", ErrReadOnly},
		{1, "RXA|0", ErrBadSegmentID},
		{1, "PID|1\rZZZ|2", ErrBadValue},
		{3, "RXA|0", ErrNotFound},
		{-1, "RXA|0", ErrNotFound},
	}
	for _, tc := range tests {
		got, err := m.ReplaceSegment(tc.i, []byte(tc.seg))
		if !errors.Is(err, tc.want) {
			t.Errorf("ReplaceSegment(%d, %q): err %v, want %v", tc.i, tc.seg, err, tc.want)
			continue
		}
		if err == nil && (got.Value("RXA-3") != "20250102" || !strings.HasSuffix(string(got.Raw()), "RXA|0|1|20250102\r")) {
			t.Errorf("ReplaceSegment(%d): %q", tc.i, got.Raw())
		}
	}
}
