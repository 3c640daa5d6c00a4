package hl7

import (
	"bytes"
	"fmt"
	"iter"
)

// Segment is one segment of a Message: a small value that refers to the
// message's bytes. Its zero value is an absent segment.
type Segment struct {
	raw []byte // without terminator
	d   Delimiters
}

// Name returns the three-character segment ID, e.g. "PID" ("" for the zero Segment).
func (s Segment) Name() string {
	if len(s.raw) < 3 {
		return ""
	}
	return segName(s.raw[:3])
}

// Raw returns the segment's wire bytes without its terminator. They are
// message data: never pass them to a logger or an error.
func (s Segment) Raw() []byte { return s.raw[:len(s.raw):len(s.raw)] }

// isMSH reports whether s is a message header.
func (s Segment) isMSH() bool { return len(s.raw) >= 3 && string(s.raw[:3]) == "MSH" }

// FieldCount returns the highest field number present. For MSH it counts
// MSH-1 and MSH-2, so "MSH|^~\&|A" has 3 fields.
func (s Segment) FieldCount() int {
	if len(s.raw) <= 3 {
		return 0
	}
	n := bytes.Count(s.raw[3:], []byte{s.d.Field})
	if s.isMSH() {
		n++
	}
	return n
}

// Field returns field n in HL7 numbering. For MSH, field 1 is the field
// separator and field 2 the encoding characters; both are returned literally
// and have no repetitions or components. A missing field is returned absent
// (see Field.Present).
func (s Segment) Field(n int) Field {
	if n < 1 || len(s.raw) <= 3 {
		return Field{}
	}
	rest := s.raw[4:]
	if s.isMSH() {
		switch n {
		case 1:
			return Field{raw: s.raw[3:4], d: s.d, lvl: lvlLit, ok: true}
		case 2:
			enc, _ := nth(rest, s.d.Field, 1)
			return Field{raw: enc, d: s.d, lvl: lvlLit, ok: true}
		}
		n--
	}
	b, ok := nth(rest, s.d.Field, n)
	if !ok {
		return Field{}
	}
	return Field{raw: b, d: s.d, lvl: lvlField, ok: true}
}

// Format writes only the segment name, whatever the verb, so that printing a
// Segment never leaks its fields.
func (s Segment) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("hl7.Segment(" + s.Name() + ")"))
}

// nth returns element n (1-based) of b split by sep. A sep of 0 means "no
// such delimiter": b is its only element.
func nth(b []byte, sep byte, n int) ([]byte, bool) {
	if sep == 0 {
		return b, n == 1
	}
	for ; n > 1; n-- {
		i := bytes.IndexByte(b, sep)
		if i < 0 {
			return nil, false
		}
		b = b[i+1:]
	}
	if i := bytes.IndexByte(b, sep); i >= 0 {
		b = b[:i]
	}
	return b, true
}

// Segments returns every segment in order, MSH first. Blank lines and batch
// header/trailer lines are not segments.
func (m *Message) Segments() iter.Seq[Segment] {
	return func(yield func(Segment) bool) {
		for i := range m.index() {
			if !yield(m.seg(i)) {
				return
			}
		}
	}
}

// SegmentsNamed returns the segments with the given ID, in order.
func (m *Message) SegmentsNamed(name string) iter.Seq[Segment] {
	return func(yield func(Segment) bool) {
		for i, si := range m.index() {
			if m.named(si, name) && !yield(m.seg(i)) {
				return
			}
		}
	}
}

// Segment returns the occurrence-th (1-based) segment with the given ID.
func (m *Message) Segment(name string, occurrence int) (Segment, bool) {
	i := m.find(name, occurrence)
	if i < 0 {
		return Segment{}, false
	}
	return m.seg(i), true
}

// SegmentCount returns the number of segments, MSH included.
func (m *Message) SegmentCount() int { return len(m.index()) }

// find returns the position in the index of the occurrence-th segment named
// name, or -1.
func (m *Message) find(name string, occurrence int) int {
	if occurrence < 1 || len(name) != 3 {
		return -1
	}
	for i, si := range m.index() {
		if m.named(si, name) {
			occurrence--
			if occurrence == 0 {
				return i
			}
		}
	}
	return -1
}

func (m *Message) named(si segIndex, name string) bool {
	return len(name) == 3 && string(m.raw[si.off:si.off+3]) == name
}

// seg returns segment i of the index (which the caller has built).
func (m *Message) seg(i int) Segment {
	return Segment{raw: m.segBytes(i), d: m.d}
}

// segBytes returns the wire bytes of segment i, without terminator: an
// edit's version when there is one, else raw's. Segment names never change
// in an edit, so named may keep reading raw.
func (m *Message) segBytes(i int) []byte {
	for j := len(m.over) - 1; j >= 0; j-- {
		if m.over[j].i == i {
			b := m.over[j].b
			return b[:len(b):len(b)]
		}
	}
	si := m.segs[i]
	return m.raw[si.off:si.end:si.end]
}

// segName returns the segment ID as a string without allocating for the
// common IDs.
func segName(b []byte) string {
	switch string(b) {
	case "MSH":
		return "MSH"
	case "SFT":
		return "SFT"
	case "MSA":
		return "MSA"
	case "ERR":
		return "ERR"
	case "QAK":
		return "QAK"
	case "QPD":
		return "QPD"
	case "RCP":
		return "RCP"
	case "EVN":
		return "EVN"
	case "PID":
		return "PID"
	case "PD1":
		return "PD1"
	case "NK1":
		return "NK1"
	case "PV1":
		return "PV1"
	case "PV2":
		return "PV2"
	case "GT1":
		return "GT1"
	case "IN1":
		return "IN1"
	case "IN2":
		return "IN2"
	case "IN3":
		return "IN3"
	case "ORC":
		return "ORC"
	case "TQ1":
		return "TQ1"
	case "TQ2":
		return "TQ2"
	case "RXA":
		return "RXA"
	case "RXR":
		return "RXR"
	case "OBX":
		return "OBX"
	case "NTE":
		return "NTE"
	}
	return string(b)
}
