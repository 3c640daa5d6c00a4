package hl7

import (
	"bytes"
	"math"
	"sync"
)

// inlineSegs is how many segments the index holds inside the Message before
// it moves to the heap. A 2 KB VXU has about 20 segments.
const inlineSegs = 48

// segIndex locates one segment in Message.raw: the segment is raw[off:end]
// and its terminator raw[end:next] (empty for a last segment without one).
type segIndex struct {
	off, end, next int32
}

// Message is one parsed HL7 v2 message. It keeps the wire bytes and never
// mutates them: edits return a new *Message. A Message is safe for concurrent
// use by multiple goroutines.
type Message struct {
	raw []byte
	d   Delimiters
	msh int // offset of the MSH segment in raw

	// over holds the segments field edits replaced, which raw does not
	// have: a chain of field edits shares raw and the segment index and
	// copies the message once, when Raw is first asked for (flat), instead
	// of once per edit. Segment reads look in over first.
	over     []overSeg
	flatOnce sync.Once
	flat     []byte

	once sync.Once // guards segs, built on first access
	segs []segIndex
	// inline is where a parsed message's index lives for up to inlineSegs
	// segments, allocated with it (parsed); edited messages share their
	// source's index and have none.
	inline *[inlineSegs]segIndex
}

// parsed is a Message with room for its index, in one allocation.
type parsed struct {
	m      Message
	inline [inlineSegs]segIndex
}

// newMessage returns a Message over raw whose index, built on first use,
// lives beside it.
func newMessage(raw []byte, d Delimiters, msh int) *Message {
	p := new(parsed)
	m := &p.m
	m.raw, m.d, m.msh, m.inline = raw, d, msh, &p.inline
	return m
}

// overSeg is segment i (an index into the segment index) as an edit left it.
type overSeg struct {
	i int
	b []byte
}

// maxOver bounds the segments a message keeps edited outside raw; the edit
// past it copies the message (a linear search over a few is cheaper than
// a copy, over many it is not).
const maxOver = 8

// Parse parses one HL7 v2 message. It does not copy b: the caller must not
// modify b afterwards. Parse checks for MLLP framing bytes, reads the
// delimiters from MSH-1 and MSH-2 and checks every segment ID; the segment
// index is built on first access and escapes are decoded only when a value is
// read. Segment terminators may be CR, LF or CRLF, mixed; leading and trailing
// whitespace, blank lines and batch header/trailer lines (FHS, BHS, BTS, FTS)
// are tolerated and kept in Raw. Every error is a *ParseError.
func Parse(b []byte) (*Message, error) {
	if len(b) > math.MaxInt32 {
		return nil, &ParseError{Err: ErrTooLarge}
	}
	if isBlank(b) {
		return nil, &ParseError{Err: ErrEmpty}
	}
	if i := framingIndex(b); i >= 0 {
		return nil, locate(b, i, ErrFramingByte)
	}
	msh, d, err := header(b)
	if err != nil {
		return nil, err
	}
	m := newMessage(b, d, msh)
	if err := m.scan(false); err != nil {
		return nil, err
	}
	return m, nil
}

// framingIndex returns the offset of the first 0x0B or 0x1C in b, or -1.
func framingIndex(b []byte) int {
	i := bytes.IndexByte(b, 0x0b)
	if j := bytes.IndexByte(b, 0x1c); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	return i
}

// header finds the MSH segment and reads the delimiters from it.
func header(b []byte) (int, Delimiters, error) {
	s := lineScanner{b: b}
	for {
		start, end, _, ok := s.next()
		if !ok {
			return 0, Delimiters{}, &ParseError{Err: ErrNoMSH}
		}
		for start < end && (b[start] == ' ' || b[start] == '\t') {
			start++ // leading whitespace before MSH on its own line
		}
		line := b[start:end]
		if len(line) == 0 || isBatchLine(line) {
			continue
		}
		if len(line) < 3 || string(line[:3]) != "MSH" {
			return 0, Delimiters{}, &ParseError{Err: ErrNoMSH}
		}
		d, field := delimitersOf(line)
		if field != 0 {
			return 0, Delimiters{}, &ParseError{Segment: "MSH", Seq: 1, Field: field, Err: ErrBadDelimiters}
		}
		return start, d, nil
	}
}

// delimitersOf reads MSH-1 and MSH-2 from an MSH line. It returns the field
// number (1 or 2) at fault, or 0 when the delimiters are usable. MSH-2 may
// hold 3 (no sub-component delimiter), 4 or 5 (with truncation) characters.
func delimitersOf(line []byte) (Delimiters, int) {
	if len(line) < 4 || !delimChar(line[3]) {
		return Delimiters{}, 1
	}
	d := Delimiters{Field: line[3]}
	enc := line[4:]
	if i := bytes.IndexByte(enc, d.Field); i >= 0 {
		enc = enc[:i]
	}
	if len(enc) < 3 || len(enc) > 5 {
		return Delimiters{}, 2
	}
	d.Component, d.Repetition, d.Escape = enc[0], enc[1], enc[2]
	if len(enc) > 3 {
		d.SubComponent = enc[3]
	}
	if len(enc) > 4 {
		d.Truncation = enc[4]
	}
	if !d.valid() {
		return Delimiters{}, 2
	}
	return d, 0
}

// scan walks the segments from MSH on. With store false it only checks the
// segment IDs (Parse); with store true it records the index (never fails then,
// since Parse has checked the same lines).
func (m *Message) scan(store bool) error {
	b := m.raw
	s := lineScanner{b: b, pos: m.msh}
	if store && m.inline != nil {
		m.segs = m.inline[:0]
	}
	pos := 0
	for {
		start, end, next, ok := s.next()
		if !ok {
			return nil
		}
		line := b[start:end]
		if isBlank(line) || isBatchLine(line) {
			continue
		}
		pos++
		if !isSegmentID(line, m.d.Field) {
			return &ParseError{Seq: pos, Err: ErrBadSegmentID}
		}
		if store {
			m.segs = append(m.segs, segIndex{int32(start), int32(end), int32(next)})
		}
	}
}

// index returns the segment index, building it on first use.
func (m *Message) index() []segIndex {
	m.once.Do(func() { _ = m.scan(true) })
	return m.segs
}

// isSegmentID reports whether line starts with a segment ID: three upper-case
// letters or digits followed by the field separator or the end of the line.
func isSegmentID(line []byte, fs byte) bool {
	if len(line) < 3 || len(line) > 3 && line[3] != fs {
		return false
	}
	for _, c := range line[:3] {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isBatchLine reports whether line is a batch header or trailer (FHS, BHS,
// BTS, FTS), which Parse skips.
func isBatchLine(line []byte) bool {
	if len(line) < 3 || len(line) > 3 && isAlnum(line[3]) {
		return false
	}
	switch string(line[:3]) {
	case "FHS", "BHS", "BTS", "FTS":
		return true
	}
	return false
}

// isBlank reports whether b holds only spaces, tabs, CR and LF.
func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// lineScanner splits b into lines ended by CR, LF or CRLF. It remembers the
// next CR and LF it has found, so a message without LF costs one search.
type lineScanner struct {
	b      []byte
	pos    int
	cr, lf int // next CR / LF at or after pos, len(b) if none; valid when >= pos
	init   bool
}

// next returns the line b[start:end] and the offset of the following line.
func (s *lineScanner) next() (start, end, next int, ok bool) {
	b := s.b
	if s.pos >= len(b) {
		return 0, 0, 0, false
	}
	if !s.init || s.cr < s.pos {
		s.cr = indexFrom(b, s.pos, '\r')
	}
	if !s.init || s.lf < s.pos {
		s.lf = indexFrom(b, s.pos, '\n')
	}
	s.init = true
	end = min(s.cr, s.lf)
	next = end
	if end < len(b) {
		next++
		if b[end] == '\r' && next < len(b) && b[next] == '\n' {
			next++
		}
	}
	start = s.pos
	s.pos = next
	return start, end, next, true
}

func indexFrom(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return len(b)
}

// locate builds the *ParseError for a bad byte at offset off. It is on the
// error path only, so it may allocate.
func locate(b []byte, off int, err error) *ParseError {
	msh, d, herr := header(b)
	if herr != nil || off < msh {
		return &ParseError{Err: err}
	}
	s := lineScanner{b: b, pos: msh}
	counts := map[string]int{}
	pos := 0
	for {
		start, end, _, ok := s.next()
		if !ok || start > off {
			return &ParseError{Err: err}
		}
		line := b[start:end]
		if isBlank(line) || isBatchLine(line) {
			if off <= end {
				return &ParseError{Err: err}
			}
			continue
		}
		pos++
		valid := isSegmentID(line, d.Field)
		if valid {
			counts[string(line[:3])]++
		}
		if off > end {
			continue
		}
		if !valid {
			return &ParseError{Seq: pos, Err: err}
		}
		name := string(line[:3])
		rel := off - start
		field := 0
		if rel > 3 {
			field = bytes.Count(line[3:rel], []byte{d.Field})
			if name == "MSH" {
				field++
			}
		}
		return &ParseError{Segment: name, Seq: counts[name], Field: field, Err: err}
	}
}
