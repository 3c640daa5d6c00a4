package hl7

// Limits on the numbers in a path. They bound the empty elements an edit may
// have to create.
const (
	maxOccurrence = 9999
	maxPosition   = 999
)

// path is a parsed path expression: SEG[occ]-field[rep].comp.sub, HL7
// numbering (1-based). rep, comp and sub are 0 when not given.
type path struct {
	seg                        string
	occ, field, rep, comp, sub int
}

// parsePath parses expressions such as "PID-5.1", "PID-3[2].1", "RXA[2]-5.1",
// "RXA-10.9.2" and "MSH-9". It does not allocate.
func parsePath(s string) (path, bool) {
	var p path
	if len(s) < 5 {
		return p, false
	}
	for _, c := range []byte(s[:3]) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return p, false
		}
	}
	p.seg, p.occ = s[:3], 1
	i := 3
	var ok bool
	if s[i] == '[' {
		if p.occ, i, ok = bracket(s, i, maxOccurrence); !ok {
			return p, false
		}
	}
	if i >= len(s) || s[i] != '-' {
		return p, false
	}
	if p.field, i, ok = number(s, i+1, maxPosition); !ok {
		return p, false
	}
	if i < len(s) && s[i] == '[' {
		if p.rep, i, ok = bracket(s, i, maxPosition); !ok {
			return p, false
		}
	}
	if i < len(s) && s[i] == '.' {
		if p.comp, i, ok = number(s, i+1, maxPosition); !ok {
			return p, false
		}
		if i < len(s) && s[i] == '.' {
			if p.sub, i, ok = number(s, i+1, maxPosition); !ok {
				return p, false
			}
		}
	}
	return p, i == len(s)
}

// bracket parses "[n]" at s[i].
func bracket(s string, i, limit int) (int, int, bool) {
	n, j, ok := number(s, i+1, limit)
	if !ok || j >= len(s) || s[j] != ']' {
		return 0, 0, false
	}
	return n, j + 1, true
}

// number parses a decimal in 1..limit at s[i] (no sign, no leading zero).
func number(s string, i, limit int) (int, int, bool) {
	n, j := 0, i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		n = n*10 + int(s[j]-'0')
		j++
		if n > limit {
			return 0, 0, false
		}
	}
	if j == i || n == 0 || s[i] == '0' {
		return 0, 0, false
	}
	return n, j, true
}

// Get returns the value at path, e.g. "PID-5.1", "PID-3[2].1", "RXA[2]-5.1",
// "RXA-10.9.2", "MSH-9". Without [rep] a field path names the whole field
// (every repetition) and a component path the first repetition. A leaf value
// is escape-decoded; a composite is returned in its wire encoding; MSH-1 and
// MSH-2 are the delimiters themselves. A missing element gives "", false and
// no error; an empty but present one gives "", true. A malformed path gives a
// *PathError wrapping ErrBadPath.
func (m *Message) Get(path string) (string, bool, error) {
	p, ok := parsePath(path)
	if !ok {
		return "", false, &PathError{Path: path, Err: ErrBadPath}
	}
	f := m.lookup(p)
	if !f.ok {
		return "", false, nil
	}
	return f.String(), true, nil
}

// Lookup returns the element at path for callers that need more than its
// decoded value: its wire bytes, whether it is present, its repetitions.
// segment reports whether the path's segment exists; the Field is absent
// (Present false) when the element is missing. A malformed path gives a
// *PathError wrapping ErrBadPath.
func (m *Message) Lookup(path string) (f Field, segment bool, err error) {
	p, ok := parsePath(path)
	if !ok {
		return Field{}, false, &PathError{Path: path, Err: ErrBadPath}
	}
	if m.find(p.seg, p.occ) < 0 {
		return Field{}, false, nil
	}
	return m.lookup(p), true, nil
}

// Value is Get without ok and error: "" when the element is missing or the
// path is malformed.
func (m *Message) Value(path string) string {
	v, _, _ := m.Get(path)
	return v
}

// lookup returns the element p names (absent when missing).
func (m *Message) lookup(p path) Field {
	i := m.find(p.seg, p.occ)
	if i < 0 {
		return Field{}
	}
	f := m.seg(i).Field(p.field)
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

// CheckPath reports whether path is a well-formed path expression, so a
// caller can reject a bad one before reading any message. The error is a
// *PathError wrapping ErrBadPath.
func CheckPath(path string) error {
	if _, ok := parsePath(path); !ok {
		return &PathError{Path: path, Err: ErrBadPath}
	}
	return nil
}
