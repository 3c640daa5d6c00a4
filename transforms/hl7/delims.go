package hl7

// Delimiters are the separators a message declares in MSH-1 and MSH-2.
// SubComponent and Truncation are 0 when MSH-2 does not declare them.
type Delimiters struct {
	Field, Component, Repetition, Escape, SubComponent, Truncation byte
}

// Standard holds the delimiters HL7 recommends and the CDC guide requires
// (MSH-1 "|", MSH-2 "^~\&"). Use it when no message is at hand.
var Standard = Delimiters{'|', '^', '~', '\\', '&', 0}

// encodingChars returns MSH-2 as declared by d.
func (d Delimiters) encodingChars() string {
	b := make([]byte, 0, 5)
	b = append(b, d.Component, d.Repetition, d.Escape)
	if d.SubComponent != 0 {
		b = append(b, d.SubComponent)
		if d.Truncation != 0 {
			b = append(b, d.Truncation)
		}
	}
	return string(b)
}

// valid reports whether d could have come out of a well-formed MSH: Field,
// Component, Repetition and Escape are set, Truncation is set only with
// SubComponent, and every set delimiter is a distinct printable ASCII
// character that is not a letter, a digit or a space.
func (d Delimiters) valid() bool {
	all := [6]byte{d.Field, d.Component, d.Repetition, d.Escape, d.SubComponent, d.Truncation}
	n := 4
	if d.SubComponent != 0 {
		n = 5
		if d.Truncation != 0 {
			n = 6
		}
	} else if d.Truncation != 0 {
		return false
	}
	for i := range n {
		if !delimChar(all[i]) {
			return false
		}
		for j := range i {
			if all[i] == all[j] {
				return false
			}
		}
	}
	return true
}

// delimChar reports whether c may serve as a delimiter.
func delimChar(c byte) bool {
	return c > ' ' && c < 0x7f && !isAlnum(c)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
