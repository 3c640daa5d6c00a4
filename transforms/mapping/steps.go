package mapping

import (
	"context"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// The built-in steps. Each is an immutable value built from a validated
// config, so Apply may run concurrently. Rule for a missing segment: a step
// that writes a new value (set, copy) fails with hl7.ErrNotFound, because a
// value has nowhere to go; a step that changes or removes what is there
// (delete, map, drop_segment) leaves the message as it is.

type setStep struct {
	path, value string
}

func newSet(c StepConfig) (Step, error) {
	return setStep{path: c.Set.Path, value: c.Set.Value}, nil
}

// Apply sets the element at path to the plain-text value.
func (s setStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	if v, ok, _ := m.Get(s.path); ok && v == s.value && !hasDelims(v, m.Delims()) {
		return m, nil // already so: no copy
	}
	return m.Set(s.path, s.value)
}

type copyStep struct {
	from, to elemPath
}

func newCopy(c StepConfig) (Step, error) {
	return copyStep{from: mustPath(c.Copy.From), to: mustPath(c.Copy.To)}, nil
}

// Apply copies the element at from to to in wire form, so a composite keeps
// its components and escapes are carried over as they are. A missing source
// copies as empty.
func (s copyStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	return m.SetRaw(s.to.src, string(s.from.lookup(m).Raw()))
}

type deleteStep struct {
	path elemPath
}

func newDelete(c StepConfig) (Step, error) {
	return deleteStep{path: mustPath(c.Delete.Path)}, nil
}

// Apply empties the element at path. An element that is absent or already
// empty is left alone, so no empty elements are created.
func (s deleteStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	if f := s.path.lookup(m); !f.Present() || len(f.Raw()) == 0 {
		return m, nil
	}
	return m.SetRaw(s.path.src, "")
}

type mapStep struct {
	path  elemPath
	table map[string]string
	def   *string
}

func newMap(c StepConfig) (Step, error) {
	t := make(map[string]string, len(c.Map.Table))
	for k, v := range c.Map.Table {
		t[k] = v
	}
	s := mapStep{path: mustPath(c.Map.Path), table: t}
	if c.Map.Default != nil {
		d := *c.Map.Default
		s.def = &d
	}
	return s, nil
}

// Apply replaces the decoded value at path by its table entry, or by the
// default when the value is not in the table; without a default an unlisted
// value stays. An absent element counts as "". A missing segment is left
// alone.
func (s mapStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	if _, ok := m.Segment(s.path.seg, s.path.occ); !ok {
		return m, nil
	}
	v, _, err := m.Get(s.path.src)
	if err != nil {
		return nil, err
	}
	to, ok := s.table[v]
	if !ok {
		if s.def == nil {
			return m, nil
		}
		to = *s.def
	}
	if to == v && s.path.lookup(m).Present() && !hasDelims(v, m.Delims()) {
		return m, nil
	}
	return m.Set(s.path.src, to)
}

type dropSegmentStep struct {
	segment string
	all     bool
}

func newDropSegment(c StepConfig) (Step, error) {
	return dropSegmentStep{segment: c.DropSegment.Segment, all: c.DropSegment.All}, nil
}

// Apply removes the first segment named segment, or all of them; none is
// not an error.
func (s dropSegmentStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	for {
		if _, ok := m.Segment(s.segment, 1); !ok {
			return m, nil
		}
		out, err := m.DeleteSegment(s.segment, 1)
		if err != nil {
			return nil, err
		}
		if m = out; !s.all {
			return m, nil
		}
	}
}

// hasDelims reports whether v holds a delimiter, in which case Get may have
// returned a composite in wire form and comparing it with a plain value
// proves nothing.
func hasDelims(v string, d hl7.Delimiters) bool {
	for _, c := range []byte{d.Field, d.Component, d.Repetition, d.Escape, d.SubComponent} {
		if c != 0 && strings.IndexByte(v, c) >= 0 {
			return true
		}
	}
	return false
}

// elemPath is a path expression parsed for direct element access (hl7 only
// offers decoded reads by path; copy and delete need the wire element).
type elemPath struct {
	src                        string
	seg                        string
	occ, field, rep, comp, sub int
}

// mustPath parses a path that hl7.CheckPath accepted (Validate ran first).
func mustPath(s string) elemPath {
	p, ok := parseElemPath(s)
	if !ok {
		panic("mapping: unchecked path " + strconv.Quote(s))
	}
	return p
}

// parseElemPath parses SEG[occ]-field[rep].comp.sub (HL7 numbering).
func parseElemPath(s string) (elemPath, bool) {
	if hl7.CheckPath(s) != nil {
		return elemPath{}, false
	}
	p := elemPath{src: s, seg: s[:3], occ: 1}
	rest := s[3:]
	num := func() int { // reads digits at the start of rest
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		return n
	}
	if rest[0] == '[' {
		rest = rest[1:]
		p.occ = num()
		rest = rest[1:] // ']'
	}
	rest = rest[1:] // '-'
	p.field = num()
	if rest != "" && rest[0] == '[' {
		rest = rest[1:]
		p.rep = num()
		rest = rest[1:]
	}
	if rest != "" && rest[0] == '.' {
		rest = rest[1:]
		p.comp = num()
		if rest != "" && rest[0] == '.' {
			rest = rest[1:]
			p.sub = num()
		}
	}
	return p, true
}

// lookup returns the element p names; absent when missing.
func (p elemPath) lookup(m *hl7.Message) hl7.Field {
	seg, ok := m.Segment(p.seg, p.occ)
	if !ok {
		return hl7.Field{}
	}
	f := seg.Field(p.field)
	if p.rep > 0 {
		f = f.Rep(p.rep)
	}
	if p.comp > 0 {
		f = f.Component(p.comp)
		if p.sub > 0 {
			f = f.Component(p.sub)
		}
	}
	return f
}
