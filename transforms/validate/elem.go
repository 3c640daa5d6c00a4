package validate

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/iisync/iisync/transforms/hl7"
)

// The rules read many fields of every segment. hl7.Segment.Field rescans
// the segment from its start on each call, which made validation several
// times slower than its budget, so a segment is split into fields once
// (segView) and elements are small views over its wire bytes (elem), with
// the same numbering and escape rules as package hl7.

// Levels of an elem.
const (
	lvField uint8 = iota + 1 // repetitions split by the repetition delimiter
	lvRep                    // components split by the component delimiter
	lvComp                   // sub-components split by the sub-component delimiter
	lvSub                    // a leaf
)

// segView is one segment split into fields: field n (HL7 numbering) is
// raw[span[n][0]:span[n][1]]. Spans are offsets, not slices, so filling
// them costs no GC write barriers. For MSH, fields 1 and 2 are empty:
// MSH-1 and MSH-2 are the delimiters and are never checked.
type segView struct {
	raw  []byte
	d    hl7.Delimiters
	n    int // number of fields + 1
	span *spans
}

// spans holds the field offsets of one segView.
type spans [maxFields + 1][2]int32

// maxFields bounds the fields of a segment kept in a segView; fields after
// it read as absent. The IG's longest segment (PID) has 39.
const maxFields = 64

// split returns the fields of seg, written into sp. It looks for the
// field separator eight bytes at a time (a zero-byte test on the word XOR
// the separator): fields are short, so this beats both a byte loop and a
// bytes.IndexByte call per field.
func split(seg hl7.Segment, d hl7.Delimiters, sp *spans) segView {
	raw := seg.Raw()
	v := segView{raw: raw, d: d, n: 1, span: sp}
	if len(raw) <= 3 || len(raw) > 1<<31-1 {
		return v
	}
	i := 4 // after "SEG|"
	if string(raw[:3]) == "MSH" {
		sp[1], sp[2] = [2]int32{}, [2]int32{} // MSH-1, MSH-2: the delimiters
		v.n = 3
		for i < len(raw) && raw[i] != d.Field {
			i++
		}
		if i >= len(raw) {
			return v
		}
		i++
	}
	const lo, low7 = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f
	start, pat := i, uint64(d.Field)*lo
	for ; i+8 <= len(raw); i += 8 {
		w := binary.LittleEndian.Uint64(raw[i:]) ^ pat // zero bytes where raw has the separator
		// Exact zero-byte mask: the high bit of each byte that is 0, with no
		// carry between bytes (the shorter (w-lo)&^w test can flag a 0x01
		// byte after a zero one).
		for t := ^((w&low7 + low7) | w | low7); t != 0; t &= t - 1 {
			k := i + bits.TrailingZeros64(t)>>3
			sp[v.n] = [2]int32{int32(start), int32(k)}
			v.n++
			if v.n > maxFields {
				return v
			}
			start = k + 1
		}
	}
	for ; i < len(raw); i++ {
		if raw[i] == d.Field {
			sp[v.n] = [2]int32{int32(start), int32(i)}
			v.n++
			if v.n > maxFields {
				return v
			}
			start = i + 1
		}
	}
	sp[v.n] = [2]int32{int32(start), int32(len(raw))}
	v.n++
	return v
}

// field returns field n, absent when the segment has fewer fields.
func (v *segView) field(n int) elem {
	if n < 1 || n >= v.n {
		return elem{}
	}
	s := v.span[n]
	return elem{b: v.raw[s[0]:s[1]], lvl: lvField, ok: true}
}

// at returns repetition 1 of field f, its component c and sub-component s
// (0 = not descending).
func (v *segView) at(f, c, s int) elem {
	e := v.field(f).rep(v.d, 1)
	if c > 0 {
		e = e.comp(v.d, c)
		if s > 0 {
			e = e.comp(v.d, s)
		}
	}
	return e
}

// maxComps bounds the components of a repetition kept in a compView;
// later ones read as absent. XCN, the widest IG type, has 23.
const maxComps = 24

// compView is one repetition split into components once, for the checks
// that read several of them (required components, coded values).
type compView struct {
	b    []byte
	n    int // number of components
	span [maxComps][2]int32
}

// split fills c with the components of repetition b.
func (c *compView) split(b []byte, sep byte) {
	c.b, c.n = b, 0
	start := 0
	for i := 0; i < len(b) && i < 1<<31-1; i++ {
		if b[i] == sep {
			c.span[c.n] = [2]int32{int32(start), int32(i)}
			c.n++
			if c.n == maxComps {
				return
			}
			start = i + 1
		}
	}
	if len(b) < 1<<31-1 {
		c.span[c.n] = [2]int32{int32(start), int32(len(b))}
		c.n++
	}
}

// comp returns component n (1-based), absent when there is none.
func (c *compView) comp(n int) elem {
	if n < 1 || n > c.n {
		return elem{}
	}
	s := c.span[n-1]
	return elem{b: c.b[s[0]:s[1]], lvl: lvComp, ok: true}
}

// elem is a field, repetition, component or sub-component: a view of the
// wire bytes. Its zero value is absent.
type elem struct {
	b   []byte
	lvl uint8
	ok  bool
}

// rep returns repetition n of a field; on any other element rep(1) is the
// element itself.
func (e elem) rep(d hl7.Delimiters, n int) elem {
	if !e.ok || n < 1 {
		return elem{}
	}
	if e.lvl != lvField {
		if n == 1 {
			return e
		}
		return elem{}
	}
	b, ok := nthPart(e.b, d.Repetition, n)
	return elem{b: b, lvl: lvRep, ok: ok}
}

// comp returns component n of the first repetition of a field or of a
// repetition, or sub-component n of a component; on a sub-component
// comp(1) is the element itself.
func (e elem) comp(d hl7.Delimiters, n int) elem {
	if !e.ok || n < 1 {
		return elem{}
	}
	var sep byte
	var lvl uint8
	switch e.lvl {
	case lvField:
		return e.rep(d, 1).comp(d, n)
	case lvRep:
		sep, lvl = d.Component, lvComp
	case lvComp:
		sep, lvl = d.SubComponent, lvSub
	default:
		if n == 1 {
			return e
		}
		return elem{}
	}
	b, ok := nthPart(e.b, sep, n)
	return elem{b: b, lvl: lvl, ok: ok}
}

// reps returns the number of repetitions of a field: 0 when it is absent
// or empty.
func (e elem) reps(d hl7.Delimiters) int {
	switch {
	case !e.ok || len(e.b) == 0:
		return 0
	case e.lvl != lvField:
		return 1
	}
	return bytes.Count(e.b, []byte{d.Repetition}) + 1
}

// nthPart returns part n (1-based) of b split by sep; a sep of 0 means b
// is its only part.
func nthPart(b []byte, sep byte, n int) ([]byte, bool) {
	if sep == 0 {
		if n != 1 {
			return nil, false
		}
		return b, true
	}
	start := 0
	for i := 0; i < len(b); i++ {
		if b[i] != sep {
			continue
		}
		if n == 1 {
			return b[start:i], true
		}
		n--
		start = i + 1
	}
	if n == 1 {
		return b[start:], true
	}
	return nil, false
}

// value returns the plain value of an element, trimmed of spaces: its
// first sub-component of its first component, escapes decoded (the wire
// bytes themselves when there is no escape, so no allocation). The HL7
// null "" counts as empty.
func (e elem) value(d hl7.Delimiters) []byte {
	if e.lvl != lvSub {
		e = e.comp(d, 1).comp(d, 1)
	}
	b := bytes.TrimSpace(e.b)
	for _, c := range b {
		if c == d.Escape && c != 0 {
			b = bytes.TrimSpace([]byte(hl7.Unescape(string(b), d)))
			break
		}
	}
	if len(b) == 2 && b[0] == '"' && b[1] == '"' {
		return nil
	}
	return b
}

// valued reports whether an element holds data: a byte other than
// delimiters and spaces, and not just the HL7 null "".
func (e elem) valued(d hl7.Delimiters) bool {
	for _, c := range e.b {
		switch c {
		case d.Component, d.Repetition, d.SubComponent, ' ':
		default:
			return !(len(e.b) == 2 && e.b[0] == '"' && e.b[1] == '"')
		}
	}
	return false
}
