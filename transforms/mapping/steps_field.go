package mapping

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

// Sentinel errors of the steps. A step's error wraps one of them in an
// *hl7.PathError that gives the position (a path written in the
// configuration, or built from it, such as "RXA[2]-5.1"), never a value.
var (
	// ErrDateLayout means a date step's value matched none of its layouts.
	ErrDateLayout = errors.New("mapping: value matches no date layout")
	// ErrComposite means a merge step met a repetition with components.
	ErrComposite = errors.New("mapping: repetition has components")
	// ErrUnmappedFacility means a facility step's sending facility is not
	// in its table and the step has no default.
	ErrUnmappedFacility = errors.New("mapping: sending facility not in table")
	// ErrUnknownNDC means an ndc_to_cvx step met an NDC that is not in the
	// CDC crosswalk.
	ErrUnknownNDC = errors.New("mapping: NDC not in the CVX crosswalk")
)

// Steps on one element. Like the built-in ones they are immutable values;
// those that change what is there leave a missing segment alone, those
// that write a new value (default, and move's target) fail with
// hl7.ErrNotFound.

type moveStep struct {
	from, to string
}

func (c *MoveStep) build() (Step, error) { return moveStep{from: c.From, to: c.To}, nil }

// Apply copies from to to in wire form, then empties from. An absent or
// empty source leaves the message alone.
func (s moveStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, _, err := m.Lookup(s.from)
	if err != nil || isEmpty(f, m.Delims()) {
		return m, err
	}
	out, err := m.SetRaw(s.to, string(f.Raw()))
	if err != nil {
		return nil, err
	}
	return out.SetRaw(s.from, "")
}

type defaultStep struct {
	path, value string
}

func (c *DefaultStep) build() (Step, error) { return defaultStep{path: c.Path, value: c.Value}, nil }

// Apply sets path to value when the element is empty.
func (s defaultStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, segment, err := m.Lookup(s.path)
	if err != nil {
		return nil, err
	}
	if segment && !isEmpty(f, m.Delims()) {
		return m, nil
	}
	return m.Set(s.path, s.value) // a missing segment fails here with ErrNotFound
}

// isEmpty reports whether f is absent or holds nothing but delimiters.
func isEmpty(f hl7.Field, d hl7.Delimiters) bool {
	for _, c := range f.Raw() {
		if c != d.Component && c != d.Repetition && (c != d.SubComponent || c == 0) {
			return false
		}
	}
	return true
}

// leafStep applies a function to every non-empty leaf of the element at
// path (replace, upper, ascii).
type leafStep struct {
	path string
	lvl  level
	leaf leafFunc
}

// leafFunc rewrites a decoded leaf value. may, when set, looks at a leaf's
// wire bytes and reports whether fn could change it, so that leaves that
// certainly stay as they are cost no decoding and no allocation.
type leafFunc struct {
	fn  func(string) string
	may func(raw []byte, d hl7.Delimiters) bool
}

func (c *ReplaceStep) build() (Step, error) {
	re, err := regexp.Compile(c.Pattern)
	if err != nil {
		return nil, field.Errorf("replace.pattern", "%v", err)
	}
	with := c.With
	return leafStep{path: c.Path, lvl: pathLevel(c.Path), leaf: leafFunc{
		fn: func(v string) string { return re.ReplaceAllString(v, with) },
		may: func(raw []byte, d hl7.Delimiters) bool { // raw is the value unless it holds escapes
			return bytes.IndexByte(raw, d.Escape) >= 0 || re.Match(raw)
		},
	}}, nil
}

func (c *UpperStep) build() (Step, error) {
	return leafStep{path: c.Path, lvl: pathLevel(c.Path), leaf: leafFunc{fn: strings.ToUpper, may: mayUpper}}, nil
}

func (c *ASCIIStep) build() (Step, error) {
	return leafStep{path: c.Path, lvl: pathLevel(c.Path), leaf: leafFunc{fn: foldASCII, may: mayFold}}, nil
}

// mayUpper reports whether a leaf holds a lower-case ASCII letter or a
// non-ASCII byte (an escape decodes to a delimiter, which has no case).
func mayUpper(raw []byte, _ hl7.Delimiters) bool {
	for _, c := range raw {
		if c >= 'a' && c <= 'z' || c >= 0x80 {
			return true
		}
	}
	return false
}

// mayFold reports whether a leaf holds a non-ASCII byte or an escape
// (\X..\ may spell one).
func mayFold(raw []byte, d hl7.Delimiters) bool {
	for _, c := range raw {
		if c >= 0x80 || c == d.Escape {
			return true
		}
	}
	return false
}

// Apply rewrites the leaves of the element; an element that does not
// change (or is absent) leaves the message as it is.
func (s leafStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, _, err := m.Lookup(s.path)
	if err != nil || len(f.Raw()) == 0 {
		return m, err
	}
	var buf [256]byte
	out, changed := mapLeaves(buf[:0], f.Raw(), m.Delims(), s.lvl, s.leaf)
	if !changed {
		return m, nil
	}
	return m.SetRaw(s.path, string(out))
}

// mapLeaves appends to dst the wire form of raw, an element at level lvl,
// with fn applied to the decoded value of each non-empty leaf. A leaf fn
// leaves as it is keeps its original bytes (and escapes); changed reports
// whether any leaf changed.
func mapLeaves(dst, raw []byte, d hl7.Delimiters, lvl level, leaf leafFunc) (out []byte, changed bool) {
	var sep byte
	switch lvl {
	case levelField:
		sep = d.Repetition
	case levelRep:
		sep = d.Component
	case levelComp:
		sep = d.SubComponent
	}
	if sep == 0 { // a leaf
		if len(raw) == 0 || leaf.may != nil && !leaf.may(raw, d) {
			return append(dst, raw...), false
		}
		v := string(raw)
		if bytes.IndexByte(raw, d.Escape) >= 0 {
			v = hl7.Unescape(v, d)
		}
		w := leaf.fn(v)
		if w == v {
			return append(dst, raw...), false
		}
		return append(dst, hl7.Escape(w, d)...), true
	}
	for first := true; ; first = false {
		if !first {
			dst = append(dst, sep)
		}
		part, rest, more := bytes.Cut(raw, []byte{sep})
		var c bool
		dst, c = mapLeaves(dst, part, d, lvl+1, leaf)
		changed = changed || c
		if !more {
			return dst, changed
		}
		raw = rest
	}
}

type dateStep struct {
	path string
	from []dateLayout
	to   dateLayout
	keep bool
}

func (c *DateStep) build() (Step, error) {
	s := dateStep{path: c.Path, keep: c.OnError == "keep"}
	var errs []error
	to, err := parseDateLayout(c.To)
	if err != nil {
		errs = append(errs, field.Errorf("date.to", "%v", err))
	}
	for i, l := range c.From {
		from, err := parseDateLayout(l)
		name := "date.from[" + strconv.Itoa(i) + "]"
		switch {
		case err != nil:
			errs = append(errs, field.Errorf(name, "%v", err))
		case to != nil:
			if missing := from.lacks(to); missing != "" {
				errs = append(errs, field.Errorf(name, "lacks %s, which to uses", missing))
			}
		}
		s.from = append(s.from, from)
	}
	s.to = to
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Apply reformats the decoded value at path.
func (s dateStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	v, _, err := m.Get(s.path)
	if err != nil || v == "" {
		return m, err
	}
	for _, l := range s.from {
		if t, ok := l.parse(v); ok {
			w := s.to.format(t)
			if w == v {
				return m, nil
			}
			return m.Set(s.path, w)
		}
	}
	if s.keep {
		return m, nil
	}
	return nil, &hl7.PathError{Path: s.path, Err: ErrDateLayout}
}

type splitStep struct {
	path, sep string
}

func (c *SplitStep) build() (Step, error) { return splitStep{path: c.Path, sep: c.Separator}, nil }

// Apply splits each leaf repetition of the field into several.
func (s splitStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, _, err := m.Lookup(s.path)
	if err != nil || len(f.Raw()) == 0 {
		return m, err
	}
	d := m.Delims()
	var out []byte
	n := 0
	for r := range f.Repetitions() {
		raw := r.Raw()
		if hasComponents(raw, d) {
			out = appendRep(out, d, &n, raw)
			continue
		}
		for part := range strings.SplitSeq(r.String(), s.sep) {
			if part = strings.TrimSpace(part); part != "" {
				out = appendRep(out, d, &n, []byte(hl7.Escape(part, d)))
			}
		}
	}
	if bytes.Equal(out, f.Raw()) {
		return m, nil
	}
	return m.SetRaw(s.path, string(out))
}

// appendRep appends one repetition, after a repetition separator unless it
// is the first (*n counts them).
func appendRep(out []byte, d hl7.Delimiters, n *int, rep []byte) []byte {
	if *n > 0 {
		out = append(out, d.Repetition)
	}
	*n++
	return append(out, rep...)
}

// hasComponents reports whether a repetition's wire bytes hold a component
// or sub-component delimiter.
func hasComponents(raw []byte, d hl7.Delimiters) bool {
	return bytes.IndexByte(raw, d.Component) >= 0 || d.SubComponent != 0 && bytes.IndexByte(raw, d.SubComponent) >= 0
}

type mergeStep struct {
	path, sep string
}

func (c *MergeStep) build() (Step, error) { return mergeStep{path: c.Path, sep: c.Separator}, nil }

// Apply joins the field's repetitions into one value.
func (s mergeStep) Apply(_ context.Context, m *hl7.Message) (*hl7.Message, error) {
	f, _, err := m.Lookup(s.path)
	if err != nil || f.RepetitionCount() < 2 {
		return m, err
	}
	d := m.Delims()
	var b strings.Builder
	i, n := 0, 0
	for r := range f.Repetitions() {
		i++
		if hasComponents(r.Raw(), d) {
			return nil, &hl7.PathError{Path: s.path + "[" + strconv.Itoa(i) + "]", Err: ErrComposite}
		}
		if v := r.String(); v != "" {
			if n > 0 {
				b.WriteString(s.sep)
			}
			b.WriteString(v)
			n++
		}
	}
	return m.Set(s.path, b.String())
}
