package mapping

import (
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
	seg := piece{Orig: -1} // its bytes are made only when needed
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
			items = append(items, piece{Orig: i})
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
			items = append(items, piece{Orig: i})
		}
	}
	b := []byte(translate(s.text, m.Delims()))
	for i := range items {
		if items[i].Orig < 0 {
			items[i].Text = b
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
			moved = append(moved, piece{Orig: i})
		} else {
			rest = append(rest, piece{Orig: i})
		}
	}
	if len(moved) == 0 {
		return m, nil
	}
	at := -1 // insert before rest[at]
	for k, p := range rest {
		switch {
		case s.after != "" && l.named(p.Orig, s.after):
			at = k + 1
		case s.before != "" && l.named(p.Orig, s.before) && at < 0:
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
		if p.Orig != i {
			return false
		}
	}
	return true
}

// inlineSegs is how many segments a layout (and the piece lists built from
// it) hold without a heap allocation; a 2 KB VXU has about 20.
const inlineSegs = 40

// layout lists the IDs of a message's segments, for the segment steps to
// decide what to do; hl7.Message.Rebuild then makes the new message in one
// copy.
type layout struct {
	segs []segSpan
}

// segSpan is one segment's ID.
type segSpan struct {
	id [3]byte
}

// loadLayout lists the segments of m into buf (a stack array of the
// caller's).
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
	return layout{segs: segs}, nil
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

// piece is one segment of a rebuilt message: original segment Orig, or the
// new bytes Text when Orig is -1.
type piece = hl7.Piece

// pieces appends every original segment, in order.
func (l *layout) pieces(items []piece) []piece {
	for i := range l.segs {
		items = append(items, piece{Orig: i})
	}
	return items
}

// build returns m made of items (see hl7.Message.Rebuild).
func (l *layout) build(m *hl7.Message, items []piece) (*hl7.Message, error) {
	return m.Rebuild(items)
}
