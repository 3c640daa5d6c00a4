package mapping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

// Steps that add, move or rewrite whole segments. They rebuild the message
// once (layout.build), however many segments change, instead of chaining
// one copy-on-write edit per segment.

type addSegmentStep struct {
	text          string // standard delimiters
	after, before string
	all           bool
}

func (c *AddSegmentStep) build() (Step, error) {
	if err := checkSegmentText(c.Text); err != nil {
		return nil, field.Errorf("add_segment.text", "%v", err)
	}
	return addSegmentStep{text: c.Text, after: c.After, before: c.Before, all: c.All}, nil
}

// checkSegmentText reports whether text is one segment, other than MSH or
// a batch line, in the standard delimiters.
func checkSegmentText(text string) error {
	if strings.ContainsAny(text, "\r\n") {
		return errors.New("must be exactly one segment (no line breaks)")
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&\r" + text))
	switch {
	case err != nil:
		return fmt.Errorf("does not parse as a segment: %w", err)
	case m.SegmentCount() != 2:
		return errors.New("must be exactly one segment (no line breaks, no batch header)")
	}
	if s, _ := m.Segment("MSH", 2); s.Name() == "MSH" {
		return errors.New("must not be an MSH segment")
	}
	return nil
}

// Apply inserts the segment; an absent anchor leaves the message alone.
func (s addSegmentStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	var spans [inlineSegs]segSpan
	l, err := loadLayout(m, spans[:])
	if err != nil {
		return nil, err
	}
	seg := piece{orig: -1} // its bytes are made only when needed
	var buf [inlineSegs + 8]piece
	items := buf[:0]
	switch {
	case s.after == "" && s.before == "":
		items = append(l.pieces(items), seg)
	case s.after != "":
		last := l.lastNamed(s.after)
		if last < 0 {
			return m, nil
		}
		for i := range l.segs {
			items = append(items, piece{orig: i})
			if i == last || s.all && l.named(i, s.after) {
				items = append(items, seg)
			}
		}
	default:
		first := l.firstNamed(s.before)
		if first < 0 {
			return m, nil
		}
		for i := range l.segs {
			if i == first || s.all && l.named(i, s.before) {
				items = append(items, seg)
			}
			items = append(items, piece{orig: i})
		}
	}
	b := []byte(translate(s.text, m.Delims()))
	for i := range items {
		if items[i].orig < 0 {
			items[i].b = b
		}
	}
	return l.build(m, items)
}

// translate rewrites a segment written with the standard delimiters |^~\&
// into the delimiters d. The escapes \F\ \S\ \T\ \R\ \E\ of the text stand
// for the standard characters and are rewritten to spell the same
// character in d; a character that is a delimiter of d but not a standard
// one is escaped. Without a sub-component delimiter & stays text.
func translate(text string, d hl7.Delimiters) string {
	std := hl7.Standard
	if d.Field == std.Field && d.Component == std.Component && d.Repetition == std.Repetition &&
		d.Escape == std.Escape && d.SubComponent == std.SubComponent {
		return text
	}
	lit := func(c byte) []byte { // c as text under d
		if c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape || c == d.SubComponent && c != 0 {
			return []byte(hl7.Escape(string(c), d))
		}
		return []byte{c}
	}
	b := make([]byte, 0, len(text)+8)
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '|':
			b = append(b, d.Field)
		case '^':
			b = append(b, d.Component)
		case '~':
			b = append(b, d.Repetition)
		case '&':
			if d.SubComponent != 0 {
				b = append(b, d.SubComponent)
			} else {
				b = append(b, c)
			}
		case '\\':
			j := strings.IndexByte(text[i+1:], '\\')
			if j < 0 { // a lone escape character stays one
				b = append(b, d.Escape)
				continue
			}
			seq := text[i+1 : i+1+j]
			if k := strings.Index("FSTRE", seq); len(seq) == 1 && k >= 0 {
				b = append(b, lit("|^&~\\"[k])...)
			} else {
				b = append(b, d.Escape)
				b = append(b, seq...)
				b = append(b, d.Escape)
			}
			i += j + 1
		default:
			b = append(b, lit(c)...)
		}
	}
	return string(b)
}

type moveSegmentStep struct {
	segment, after, before string
}

func (c *MoveSegmentStep) build() (Step, error) {
	return moveSegmentStep{segment: c.Segment, after: c.After, before: c.Before}, nil
}

// Apply moves the segments; nothing to move, no anchor or segments already
// in place leave the message alone.
func (s moveSegmentStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	var spans [inlineSegs]segSpan
	l, err := loadLayout(m, spans[:])
	if err != nil {
		return nil, err
	}
	var movedBuf, restBuf, itemsBuf [inlineSegs]piece
	moved, rest := movedBuf[:0], restBuf[:0]
	for i := range l.segs {
		if l.named(i, s.segment) {
			moved = append(moved, piece{orig: i})
		} else {
			rest = append(rest, piece{orig: i})
		}
	}
	if len(moved) == 0 {
		return m, nil
	}
	at := -1 // insert before rest[at]
	for k, p := range rest {
		switch {
		case s.after != "" && l.named(p.orig, s.after):
			at = k + 1
		case s.before != "" && l.named(p.orig, s.before) && at < 0:
			at = k
		}
	}
	if at < 0 {
		return m, nil
	}
	items := append(itemsBuf[:0], rest[:at]...)
	items = append(items, moved...)
	items = append(items, rest[at:]...)
	if inOrder(items) {
		return m, nil
	}
	return l.build(m, items)
}

// inOrder reports whether items are the original segments in their order.
func inOrder(items []piece) bool {
	for i, p := range items {
		if p.orig != i {
			return false
		}
	}
	return true
}

// inlineSegs is how many segments a layout (and the piece lists built from
// it) hold without a heap allocation; a 2 KB VXU has about 20.
const inlineSegs = 40

// layout lists the segments of a message and, once placed, where each one
// lies in the wire bytes. It lives on the stack, its segments in a stack
// array of the caller's (see loadLayout).
type layout struct {
	raw    []byte
	segs   []segSpan
	placed bool
}

// segSpan is one segment: its ID and, once placed, raw[start:end] its bytes
// without terminator and raw[end:next] its terminator (empty for a last
// segment without one).
type segSpan struct {
	id               [3]byte
	start, end, next int
}

// loadLayout lists the segments of m into buf (a stack array of the
// caller's). It is cheap (no search): steps call it to decide, and place
// (through build) only when they rebuild.
func loadLayout(m *hl7.Message, buf []segSpan) (layout, error) {
	segs := buf[:0]
	for s := range m.Segments() {
		var sp segSpan
		copy(sp.id[:], s.Raw())
		segs = append(segs, sp)
	}
	if len(segs) == 0 {
		return layout{}, errors.New("mapping: message has no segments")
	}
	return layout{raw: m.Raw(), segs: segs}, nil
}

// place finds every segment of m (the message loaded) in the wire bytes.
// Segment.Raw is a sub-slice of the message's bytes, so a segment is found
// where its first byte is; should the hl7 package ever copy, the first
// match of its bytes after the previous segment is taken.
func (l *layout) place(m *hl7.Message) error {
	if l.placed {
		return nil
	}
	raw, pos, i := l.raw, 0, 0
	for seg := range m.Segments() {
		b := seg.Raw()
		if i >= len(l.segs) {
			break
		}
		s := &l.segs[i]
		i++
		s.start = locate(raw, pos, b)
		if s.start < 0 {
			return errors.New("mapping: segment not found in the message bytes")
		}
		s.end = s.start + len(b)
		s.next = s.end
		if s.next < len(raw) && raw[s.next] == '\r' {
			s.next++
		}
		if s.next < len(raw) && raw[s.next] == '\n' && (s.next == s.end || raw[s.next-1] == '\r') {
			s.next++
		}
		pos = s.end
	}
	l.placed = true
	return nil
}

// locate returns the offset of seg in raw at or after from: the position
// of seg's own first byte, else the first match of its contents, else -1.
func locate(raw []byte, from int, seg []byte) int {
	if len(seg) == 0 {
		return -1
	}
	first := -1
	for k := from; k <= len(raw)-len(seg); k++ {
		i := bytes.Index(raw[k:], seg)
		if i < 0 {
			break
		}
		k += i
		if first < 0 {
			first = k
		}
		if &raw[k] == &seg[0] {
			return k
		}
	}
	return first
}

func (l *layout) named(i int, name string) bool {
	return string(l.segs[i].id[:]) == name
}

func (l *layout) firstNamed(name string) int {
	for i := range l.segs {
		if l.named(i, name) {
			return i
		}
	}
	return -1
}

func (l *layout) lastNamed(name string) int {
	for i := len(l.segs) - 1; i >= 0; i-- {
		if l.named(i, name) {
			return i
		}
	}
	return -1
}

// seg returns the bytes of segment i; the layout is placed.
func (l *layout) seg(i int) []byte { return l.raw[l.segs[i].start:l.segs[i].end] }

// piece is one segment of a rebuilt message: original segment orig, or the
// new bytes b when orig is -1.
type piece struct {
	orig int
	b    []byte
}

func pieceOf(b []byte) piece { return piece{orig: -1, b: b} }

// pieces appends every original segment, in order.
func (l *layout) pieces(items []piece) []piece {
	for i := range l.segs {
		items = append(items, piece{orig: i})
	}
	return items
}

// terminator returns the terminator the message uses most (CR on a tie),
// as the hl7 package does for InsertSegment. The layout is placed.
func (l *layout) terminator() []byte {
	var cr, lf, crlf int
	for _, s := range l.segs {
		switch string(l.raw[s.end:s.next]) {
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

// build returns the message made of items, m being the message loaded. The bytes before the first
// segment and after the last one's terminator stay; slot j (the j-th
// segment of the result) keeps the terminator and the blank or batch lines
// that followed slot j in the original, so reordering moves segments, not
// line endings; a slot the original did not have gets the dominant
// terminator. items[0] must be the MSH segment.
func (l *layout) build(m *hl7.Message, items []piece) (*hl7.Message, error) {
	if err := l.place(m); err != nil {
		return nil, err
	}
	raw, segs := l.raw, l.segs
	last := len(segs) - 1
	size := len(raw) + 8
	for _, p := range items {
		size += len(p.b)
	}
	out := make([]byte, 0, size)
	out = append(out, raw[:segs[0].start]...)
	var dom []byte
	for j, p := range items {
		if p.orig >= 0 {
			out = append(out, l.seg(p.orig)...)
		} else {
			out = append(out, p.b...)
		}
		switch {
		case j == len(items)-1:
			out = append(out, raw[segs[last].end:]...)
		case j < last && segs[j].next > segs[j].end:
			out = append(out, raw[segs[j].end:segs[j+1].start]...)
		default:
			if dom == nil {
				dom = l.terminator()
			}
			out = append(out, dom...)
			if j < last {
				out = append(out, raw[segs[j].next:segs[j+1].start]...)
			}
		}
	}
	return hl7.Parse(out)
}
