package hl7

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// Edits are copy-on-write: each one splices the new bytes into a copy of the
// wire bytes and parses the copy, so the receiver is never modified (several
// pipeline steps may hold the same *Message) and every untouched byte,
// terminators included, is carried over unchanged.

// Set returns a copy of m with the element at path set to value, which is
// plain text and is escaped here. Missing fields, repetitions, components and
// sub-components are created empty as needed; the segment must exist. Without
// [rep] a field path replaces the whole field and a component path works on
// the first repetition. MSH-1 and MSH-2 cannot be set (ErrReadOnly). Errors
// are *PathError.
func (m *Message) Set(path, value string) (*Message, error) {
	p, ok := parsePath(path)
	if !ok {
		return nil, &PathError{Path: path, Err: ErrBadPath}
	}
	return m.set(path, p, Escape(value, m.d))
}

// SetRaw is Set for a value already in wire encoding: it may hold escape
// sequences and delimiters of the levels below path (components in a field,
// sub-components in a component …), but no delimiter of its own level or
// above, no segment terminator and no framing byte (ErrBadValue).
func (m *Message) SetRaw(path string, encoded string) (*Message, error) {
	p, ok := parsePath(path)
	if !ok {
		return nil, &PathError{Path: path, Err: ErrBadPath}
	}
	if !rawFits(encoded, m.d, p) {
		return nil, &PathError{Path: path, Err: ErrBadValue}
	}
	return m.set(path, p, encoded)
}

// rawFits reports whether the wire value v may be placed at p.
func rawFits(v string, d Delimiters, p path) bool {
	forbid := []byte{'\r', '\n', 0x0b, 0x1c, d.Field}
	if p.rep > 0 || p.comp > 0 {
		forbid = append(forbid, d.Repetition)
	}
	if p.comp > 0 {
		forbid = append(forbid, d.Component)
	}
	if p.sub > 0 && d.SubComponent != 0 {
		forbid = append(forbid, d.SubComponent)
	}
	return !bytes.ContainsAny([]byte(v), string(forbid))
}

func (m *Message) set(ps string, p path, v string) (*Message, error) {
	isMSH := p.seg == "MSH"
	switch {
	case isMSH && p.field <= 2:
		return nil, &PathError{Path: ps, Err: ErrReadOnly}
	case p.sub > 1 && m.d.SubComponent == 0:
		return nil, &PathError{Path: ps, Err: ErrBadPath} // no sub-component delimiter declared
	}
	i := m.find(p.seg, p.occ)
	if i < 0 {
		return nil, &PathError{Path: ps, Err: ErrNotFound}
	}
	elem := p.field + 1 // 1-based among the segment split by the field separator, the ID being 1
	if isMSH {
		elem-- // MSH-1 is the separator itself
	}
	d, val := m.d, []byte(v)
	seg := replaceNth(m.segBytes(i), d.Field, elem, func(f []byte) []byte {
		if p.rep == 0 && p.comp == 0 {
			return val
		}
		return replaceNth(f, d.Repetition, max(p.rep, 1), func(r []byte) []byte {
			if p.comp == 0 {
				return val
			}
			return replaceNth(r, d.Component, p.comp, func(c []byte) []byte {
				if p.sub == 0 {
					return val
				}
				return replaceNth(c, d.SubComponent, p.sub, func([]byte) []byte { return val })
			})
		})
	})
	return m.replaceSegment(i, seg)
}

// ReplaceSegment returns a copy of m whose i-th segment (0-based, in
// Segments order) is seg: wire form, without terminator, with the same
// segment ID (ErrBadSegmentID otherwise, ErrReadOnly for the MSH, whose
// delimiters an edit must not touch). For steps that rewrite several fields
// of one segment in one go.
func (m *Message) ReplaceSegment(i int, seg []byte) (*Message, error) {
	idx := m.index()
	switch {
	case i < 0 || i >= len(idx):
		return nil, fmt.Errorf("replace segment %d of %d: %w", i, len(idx), ErrNotFound)
	case i == 0:
		return nil, fmt.Errorf("replace MSH: %w", ErrReadOnly)
	case len(seg) < 3 || !m.named(idx[i], string(seg[:3])) || !isSegmentID(seg, m.d.Field):
		return nil, fmt.Errorf("replace segment %d: %w", i, ErrBadSegmentID)
	case bytes.ContainsAny(seg, "\r\n\x0b\x1c"):
		return nil, fmt.Errorf("replace segment %d: %w", i, ErrBadValue)
	}
	return m.replaceSegment(i, bytes.Clone(seg))
}

// replaceSegment returns a copy of m whose segment i (an index into
// m.index()) is seg. An edit inside a segment that brings no line break or
// framing byte cannot change the message's structure, so the copy shares
// m's wire bytes and segment index and keeps seg aside (Message.over): a
// chain of field edits costs a segment each, and one copy of the message
// when its bytes are first needed. Anything else takes the full re-parse.
func (m *Message) replaceSegment(i int, seg []byte) (*Message, error) {
	idx := m.index()
	if bytes.ContainsAny(seg, "\r\n\x0b\x1c") || int64(m.size())+int64(len(seg)) > math.MaxInt32 {
		f := m.flattened()
		si := f.index()[i]
		return f.splice(int(si.off), int(si.end), seg)
	}
	over := make([]overSeg, 0, len(m.over)+1)
	for _, o := range m.over {
		if o.i != i {
			over = append(over, o)
		}
	}
	over = append(over, overSeg{i: i, b: seg})
	nm := &Message{raw: m.raw, d: m.d, msh: m.msh, over: over}
	nm.once.Do(func() { nm.segs = idx }) // the index is immutable: share it
	if len(over) > maxOver {
		return nm.flattened(), nil
	}
	return nm, nil
}

// replaceNth returns b with its element n (1-based, split by sep) replaced by
// fn(element), adding empty elements when b has fewer than n. A sep of 0
// means b is a single element.
func replaceNth(b []byte, sep byte, n int, fn func([]byte) []byte) []byte {
	start := 0
	for k := 1; k < n; k++ {
		i := -1
		if sep != 0 {
			i = bytes.IndexByte(b[start:], sep)
		}
		if i < 0 { // only k elements: pad
			out := make([]byte, 0, len(b)+n-k+8)
			out = append(out, b...)
			for ; k < n; k++ {
				out = append(out, sep)
			}
			return append(out, fn(nil)...)
		}
		start += i + 1
	}
	end := len(b)
	if sep != 0 {
		if i := bytes.IndexByte(b[start:], sep); i >= 0 {
			end = start + i
		}
	}
	mid := fn(b[start:end])
	out := make([]byte, 0, start+len(mid)+len(b)-end)
	out = append(out, b[:start]...)
	out = append(out, mid...)
	return append(out, b[end:]...)
}

// splice returns a new Message whose wire bytes are m's with raw[from:to]
// replaced by repl.
func (m *Message) splice(from, to int, repl ...[]byte) (*Message, error) {
	n := len(m.raw) - (to - from)
	for _, r := range repl {
		n += len(r)
	}
	out := make([]byte, 0, n)
	out = append(out, m.raw[:from]...)
	for _, r := range repl {
		out = append(out, r...)
	}
	out = append(out, m.raw[to:]...)
	return Parse(out)
}

// InsertSegment returns a copy of m with seg (wire form, without terminator)
// inserted after the segment at index after (0-based, in Segments order;
// 0 = right after MSH). Nothing may precede MSH, so after must be at least 0.
// The new segment gets the message's dominant terminator; a last segment
// without terminator keeps none.
func (m *Message) InsertSegment(after int, seg string) (*Message, error) {
	m = m.flattened()
	idx := m.index()
	if after < 0 {
		return nil, fmt.Errorf("insert segment before MSH: %w", ErrReadOnly)
	}
	if after >= len(idx) {
		return nil, fmt.Errorf("insert segment after index %d: %w", after, ErrNotFound)
	}
	if err := m.checkSegment(seg); err != nil {
		return nil, fmt.Errorf("insert segment: %w", err)
	}
	si, term := idx[after], m.terminator()
	if si.next > si.end { // has a terminator: insert after it
		return m.splice(int(si.next), int(si.next), []byte(seg), term)
	}
	return m.splice(int(si.end), int(si.end), term, []byte(seg))
}

// AppendSegment returns a copy of m with seg (wire form, without terminator)
// added after the last segment (before any batch trailer or trailing bytes).
func (m *Message) AppendSegment(seg string) (*Message, error) {
	return m.InsertSegment(m.SegmentCount()-1, seg)
}

// DeleteSegment returns a copy of m without the occurrence-th (1-based)
// segment named name, and without its terminator. MSH cannot be deleted.
func (m *Message) DeleteSegment(name string, occurrence int) (*Message, error) {
	if name == "MSH" {
		return nil, fmt.Errorf("delete MSH: %w", ErrReadOnly)
	}
	m = m.flattened()
	i := m.find(name, occurrence)
	if i < 0 {
		return nil, fmt.Errorf("delete %s[%d]: %w", strconv.Quote(name), occurrence, ErrNotFound)
	}
	si := m.segs[i]
	return m.splice(int(si.off), int(si.next))
}

// checkSegment validates a segment given in wire form.
func (m *Message) checkSegment(seg string) error {
	b := []byte(seg)
	switch {
	case !isSegmentID(b, m.d.Field) || isBatchLine(b):
		return ErrBadSegmentID
	case string(b[:3]) == "MSH":
		return ErrReadOnly
	case bytes.ContainsAny(b, "\r\n\x0b\x1c"):
		return ErrBadValue
	}
	return nil
}

// terminator returns the segment terminator the message uses most (CR on a tie).
func (m *Message) terminator() []byte {
	var cr, lf, crlf int
	for _, si := range m.index() {
		switch string(m.raw[si.end:si.next]) {
		case "\r":
			cr++
		case "\n":
			lf++
		case "\r\n":
			crlf++
		}
	}
	switch {
	case lf > cr && lf >= crlf:
		return []byte("\n")
	case crlf > cr && crlf > lf:
		return []byte("\r\n")
	}
	return []byte("\r")
}

// Piece is one segment of the message Rebuild makes: segment Orig of the
// original (0-based, in Segments order), or, when Orig is negative, the
// new segment Text (wire form in the message's delimiters, without
// terminator).
type Piece struct {
	Orig int
	Text []byte
}

// Rebuild returns a copy of m made of pieces, in order, in one copy: for
// steps that insert, reorder or rewrite several segments at once. pieces[0]
// must be the MSH (Orig 0). The bytes before the MSH and after the last
// segment stay; the j-th segment of the result keeps the terminator (and
// any blank or batch lines) that followed the j-th original segment, so
// reordering moves segments, not line endings; a slot the original did not
// have gets the message's dominant terminator. The result is parsed as
// Parse does.
func (m *Message) Rebuild(pieces []Piece) (*Message, error) {
	idx := m.index()
	if len(pieces) == 0 || pieces[0].Orig != 0 {
		return nil, fmt.Errorf("rebuild: the first piece must be the MSH: %w", ErrReadOnly)
	}
	last := len(idx) - 1
	size := len(m.raw) + 8
	for _, p := range pieces {
		if p.Orig > last {
			return nil, fmt.Errorf("rebuild: segment %d of %d: %w", p.Orig, len(idx), ErrNotFound)
		}
		size += len(p.Text)
	}
	raw := m.raw // terminators and lines between segments; segment bytes from segBytes
	out := make([]byte, 0, size+m.size()-len(m.raw))
	out = append(out, raw[:idx[0].off]...)
	var dom []byte
	for j, p := range pieces {
		if p.Orig >= 0 {
			out = append(out, m.segBytes(p.Orig)...)
		} else {
			out = append(out, p.Text...)
		}
		switch {
		case j == len(pieces)-1:
			out = append(out, raw[idx[last].end:]...)
		case j < last && idx[j].next > idx[j].end:
			out = append(out, raw[idx[j].end:idx[j+1].off]...)
		default:
			if dom == nil {
				dom = m.terminator()
			}
			out = append(out, dom...)
			if j < last {
				out = append(out, raw[idx[j].next:idx[j+1].off]...)
			}
		}
	}
	return Parse(out)
}
