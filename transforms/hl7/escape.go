package hl7

import (
	"bytes"
	"strings"
)

// Escape encodes plain text s for use as a leaf value under delimiters d:
// the delimiters become \F\ \S\ \T\ \R\ \E\ (and \P\ for the truncation
// character when d declares one), and CR, LF, 0x0B and 0x1C become \X0D\,
// \X0A\, \X0B\ and \X1C\, so that the value can never break a segment or an
// MLLP frame. Unescape(Escape(s, d), d) == s for every s.
func Escape(s string, d Delimiters) string {
	i := 0
	for i < len(s) && escapeCode(s[i], d) == "" {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		code := escapeCode(c, d)
		if code == "" {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(d.Escape)
		b.WriteString(code)
		b.WriteByte(d.Escape)
	}
	return b.String()
}

// escapeCode returns the escape sequence body for c, or "" when c is plain.
func escapeCode(c byte, d Delimiters) string {
	switch {
	case c == '\r':
		return "X0D"
	case c == '\n':
		return "X0A"
	case c == 0x0b:
		return "X0B"
	case c == 0x1c:
		return "X1C"
	case c == 0:
		return ""
	case c == d.Escape:
		return "E"
	case c == d.Field:
		return "F"
	case c == d.Component:
		return "S"
	case c == d.Repetition:
		return "R"
	case c == d.SubComponent:
		return "T"
	case c == d.Truncation:
		return "P"
	}
	return ""
}

// Unescape decodes the escape sequences of a leaf value: \F\ \S\ \T\ \R\ \E\
// (and \P\ when d declares a truncation character) become the delimiters and
// \Xhh...\ the bytes it spells in hexadecimal. Formatting and character-set
// sequences (\.br\, \H\, \N\, \.sp\, \Z..\, \C..\, \M..\ …), unknown
// sequences and a lone or unterminated escape character are kept as they are;
// Unescape never fails.
func Unescape(s string, d Delimiters) string {
	if d.Escape == 0 || strings.IndexByte(s, d.Escape) < 0 {
		return s
	}
	return string(unescape(nil, []byte(s), d))
}

// decode returns the leaf value of wire bytes b as a string.
func decode(b []byte, d Delimiters) string {
	if d.Escape == 0 || bytes.IndexByte(b, d.Escape) < 0 {
		return string(b)
	}
	return string(unescape(make([]byte, 0, len(b)), b, d))
}

// unescape appends the decoded form of b to dst.
func unescape(dst, b []byte, d Delimiters) []byte {
	e := d.Escape
	for {
		i := bytes.IndexByte(b, e)
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		j := bytes.IndexByte(b[i+1:], e)
		if j < 0 { // unterminated: keep literally
			return append(dst, b[i:]...)
		}
		seq := b[i+1 : i+1+j]
		if c, ok := escapedDelim(seq, d); ok {
			dst = append(dst, c)
		} else if out, ok := appendHex(dst, seq); ok {
			dst = out
		} else {
			dst = append(dst, b[i:i+2+j]...) // formatting, charset or unknown: keep
		}
		b = b[i+2+j:]
	}
}

// escapedDelim maps the one-letter sequences to the delimiter they stand for.
func escapedDelim(seq []byte, d Delimiters) (byte, bool) {
	if len(seq) != 1 {
		return 0, false
	}
	var c byte
	switch seq[0] {
	case 'F':
		c = d.Field
	case 'S':
		c = d.Component
	case 'R':
		c = d.Repetition
	case 'E':
		c = d.Escape
	case 'T':
		c = d.SubComponent
	case 'P':
		c = d.Truncation
	}
	return c, c != 0
}

// appendHex decodes an "Xhhhh" sequence (an even number of hex digits, at
// least two).
func appendHex(dst, seq []byte) ([]byte, bool) {
	if len(seq) < 3 || seq[0] != 'X' || len(seq)%2 == 0 {
		return dst, false
	}
	for _, c := range seq[1:] {
		if unhex(c) < 0 {
			return dst, false
		}
	}
	for k := 1; k < len(seq); k += 2 {
		dst = append(dst, byte(unhex(seq[k])<<4|unhex(seq[k+1])))
	}
	return dst, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
