package hl7

import (
	"bytes"
	"fmt"
	"iter"
)

// Levels of a Field: what its raw bytes hold and which delimiter splits them.
const (
	lvlField = iota + 1 // a whole field: repetitions split by Repetition
	lvlRep              // one repetition: components split by Component
	lvlComp             // one component: sub-components split by SubComponent
	lvlSub              // one sub-component: a leaf
	lvlLit              // MSH-1 or MSH-2: literal, never split or decoded
)

// Field is a field, a repetition, a component or a sub-component of a
// segment: a small value that refers to the message's bytes. Component(n)
// descends one level (a field or repetition gives its components, a
// component gives its sub-components), Rep(n) selects a repetition. Its zero
// value is an absent element. Its contents are message data: never log them.
type Field struct {
	raw []byte
	d   Delimiters
	lvl uint8
	ok  bool
}

// Present reports whether the element exists in the message (it may still
// be empty).
func (f Field) Present() bool { return f.ok }

// Raw returns the element's wire bytes (escapes not decoded). They are
// message data: never pass them to a logger or an error.
func (f Field) Raw() []byte { return f.raw[:len(f.raw):len(f.raw)] }

// RepetitionCount returns the number of repetitions of a field: 0 when it is
// absent or empty. Any other element counts as one repetition when present.
func (f Field) RepetitionCount() int {
	switch {
	case !f.ok:
		return 0
	case f.lvl != lvlField:
		return 1
	case len(f.raw) == 0:
		return 0
	}
	return bytes.Count(f.raw, []byte{f.d.Repetition}) + 1
}

// Repetitions yields each repetition of the field as a Field holding one
// repetition; an absent or empty field yields nothing.
func (f Field) Repetitions() iter.Seq[Field] {
	return func(yield func(Field) bool) {
		for i := 1; i <= f.RepetitionCount(); i++ {
			if !yield(f.Rep(i)) {
				return
			}
		}
	}
}

// Rep returns repetition n (1-based) of a field. On any other element, Rep(1)
// is the element itself.
func (f Field) Rep(n int) Field {
	if !f.ok || n < 1 {
		return Field{}
	}
	if f.lvl != lvlField {
		if n == 1 {
			return f
		}
		return Field{}
	}
	b, ok := nth(f.raw, f.d.Repetition, n)
	if !ok {
		return Field{}
	}
	return Field{raw: b, d: f.d, lvl: lvlRep, ok: true}
}

// Component returns component n (1-based) of the first repetition of a field
// or of a repetition, and sub-component n of a component. On a sub-component
// or on MSH-1/MSH-2, Component(1) is the element itself.
func (f Field) Component(n int) Field {
	if !f.ok || n < 1 {
		return Field{}
	}
	var sep byte
	var lvl uint8
	switch f.lvl {
	case lvlField:
		return f.Rep(1).Component(n)
	case lvlRep:
		sep, lvl = f.d.Component, lvlComp
	case lvlComp:
		sep, lvl = f.d.SubComponent, lvlSub
	default:
		if n == 1 {
			return f
		}
		return Field{}
	}
	b, ok := nth(f.raw, sep, n)
	if !ok {
		return Field{}
	}
	return Field{raw: b, d: f.d, lvl: lvl, ok: true}
}

// SubComponent returns sub-component s of component c of the first
// repetition, decoded; "" when absent.
func (f Field) SubComponent(c, s int) string {
	return f.Component(c).Component(s).String()
}

// String returns the element's value. A leaf (a sub-component, or an element
// holding no delimiter of a lower level) is escape-decoded; a composite is
// returned in its wire encoding. MSH-1 and MSH-2 are returned literally. The
// result is message data: never log it.
func (f Field) String() string {
	if !f.ok || len(f.raw) == 0 {
		return ""
	}
	if f.composite() {
		return string(f.raw)
	}
	return decode(f.raw, f.d)
}

// composite reports whether f holds delimiters of a lower level (or is
// MSH-1/MSH-2, which are never decoded).
func (f Field) composite() bool {
	d := f.d
	switch f.lvl {
	case lvlLit:
		return true
	case lvlField:
		if bytes.IndexByte(f.raw, d.Repetition) >= 0 {
			return true
		}
		fallthrough
	case lvlRep:
		if bytes.IndexByte(f.raw, d.Component) >= 0 {
			return true
		}
		fallthrough
	case lvlComp:
		if d.SubComponent != 0 && bytes.IndexByte(f.raw, d.SubComponent) >= 0 {
			return true
		}
	}
	return false
}

// Format prints the value (as String does) for %v, %s and %q, and nothing of
// the contents for any other verb, %#v included.
func (f Field) Format(s fmt.State, verb rune) {
	switch {
	case verb == 'v' && s.Flag('#'):
		_, _ = s.Write([]byte("hl7.Field{…}"))
	case verb == 'v' || verb == 's':
		_, _ = s.Write([]byte(f.String()))
	case verb == 'q':
		_, _ = fmt.Fprintf(s, "%q", f.String())
	default:
		_, _ = fmt.Fprintf(s, "%%!%c(hl7.Field)", verb)
	}
}

// GoString hides the contents: %#v of message data must not leak.
func (f Field) GoString() string { return "hl7.Field{…}" }
