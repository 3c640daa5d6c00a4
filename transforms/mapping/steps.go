package mapping

import (
	"context"
	"maps"
	"strings"

	"github.com/iisync/iisync/conf/field"
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

func (c *SetStep) build() (Step, error) {
	return setStep{path: c.Path, value: c.Value}, nil
}

// Apply sets the element at path to the plain-text value.
func (s setStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	if v, ok, _ := m.Get(s.path); ok && v == s.value && !hasDelims(v, m.Delims()) {
		return m, nil // already so: no copy
	}
	return m.Set(s.path, s.value)
}

type copyStep struct {
	from, to string
}

func (c *CopyStep) build() (Step, error) {
	return copyStep{from: c.From, to: c.To}, nil
}

// Apply copies the element at from to to in wire form, so a composite keeps
// its components and escapes are carried over as they are. A missing source
// copies as empty.
func (s copyStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, _, err := m.Lookup(s.from)
	if err != nil {
		return nil, err
	}
	return m.SetRaw(s.to, string(f.Raw()))
}

type deleteStep struct {
	path string
}

func (c *DeleteStep) build() (Step, error) {
	return deleteStep{path: c.Path}, nil
}

// Apply empties the element at path. An element that is absent or already
// empty is left alone, so no empty elements are created.
func (s deleteStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, _, err := m.Lookup(s.path)
	if err != nil || !f.Present() || len(f.Raw()) == 0 {
		return m, err
	}
	return m.SetRaw(s.path, "")
}

type mapStep struct {
	path  string
	table map[string]string
	def   *string
}

func (c *MapStep) build() (Step, error) {
	if len(c.Table) == 0 { // Validate let an empty table through for table_file
		return nil, field.Errorf("map.table_file", "%q not loaded (conf reads it into table)", c.TableFile)
	}
	s := mapStep{path: c.Path, table: maps.Clone(c.Table)}
	if c.Default != nil {
		d := *c.Default
		s.def = &d
	}
	return s, nil
}

// Apply replaces the decoded value at path by its table entry, or by the
// default when the value is not in the table; without a default an unlisted
// value stays. An absent element counts as "". A missing segment is left
// alone.
func (s mapStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, segment, err := m.Lookup(s.path)
	if err != nil {
		return nil, err
	}
	if !segment {
		return m, nil
	}
	v := f.String()
	to, ok := s.table[v]
	if !ok {
		if s.def == nil {
			return m, nil
		}
		to = *s.def
	}
	if to == v && f.Present() && !hasDelims(v, m.Delims()) {
		return m, nil
	}
	return m.Set(s.path, to)
}

type dropSegmentStep struct {
	segment string
	all     bool
}

func (c *DropSegmentStep) build() (Step, error) {
	return dropSegmentStep{segment: c.Segment, all: c.All}, nil
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
