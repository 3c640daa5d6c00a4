package mapping

import (
	"errors"
	"fmt"
	"strings"
)

// A date layout is a list of tokens: the fields YYYY, MM, DD, HH, mm, SS
// and literal bytes.
type dateLayout []dateToken

type dateToken struct {
	unit dateUnit // unitLiteral for a literal byte
	lit  byte
}

type dateUnit int

const (
	unitLiteral dateUnit = iota
	unitYear
	unitMonth
	unitDay
	unitHour
	unitMinute
	unitSecond
	numUnits
)

// dateTokens are the layout tokens and the unit each stands for.
var dateTokens = [...]struct {
	text string
	unit dateUnit
}{
	{"YYYY", unitYear},
	{"MM", unitMonth},
	{"DD", unitDay},
	{"HH", unitHour},
	{"mm", unitMinute},
	{"SS", unitSecond},
}

// width is the number of digits of the unit.
func (u dateUnit) width() int {
	if u == unitYear {
		return 4
	}
	return 2
}

func (u dateUnit) String() string {
	for _, t := range dateTokens {
		if t.unit == u {
			return t.text
		}
	}
	return "literal"
}

// parseDateLayout parses a layout such as "MM/DD/YYYY". A letter of a
// token (Y, M, D, H, m, S) that does not start a whole token is an error,
// as is a token used twice or a layout without any token.
func parseDateLayout(s string) (dateLayout, error) {
	if s == "" {
		return nil, errors.New("required")
	}
	var l dateLayout
	var seen [numUnits]bool
	for i := 0; i < len(s); {
		tok := -1
		for k, t := range dateTokens {
			if strings.HasPrefix(s[i:], t.text) {
				tok = k
				break
			}
		}
		if tok < 0 {
			if strings.IndexByte("YMDHmS", s[i]) >= 0 {
				return nil, fmt.Errorf("layout %q: %q at offset %d is not one of YYYY, MM, DD, HH, mm, SS", s, s[i], i)
			}
			l = append(l, dateToken{lit: s[i]})
			i++
			continue
		}
		t := dateTokens[tok]
		if seen[t.unit] {
			return nil, fmt.Errorf("layout %q: %s used twice", s, t.text)
		}
		seen[t.unit] = true
		l = append(l, dateToken{unit: t.unit})
		i += len(t.text)
	}
	for _, u := range seen {
		if u {
			return l, nil
		}
	}
	return nil, fmt.Errorf("layout %q has no YYYY, MM, DD, HH, mm or SS", s)
}

// lacks returns the first token of to that l does not have, or "".
func (l dateLayout) lacks(to dateLayout) string {
	for _, t := range to {
		if t.unit != unitLiteral && !l.has(t.unit) {
			return t.unit.String()
		}
	}
	return ""
}

func (l dateLayout) has(u dateUnit) bool {
	for _, t := range l {
		if t.unit == u {
			return true
		}
	}
	return false
}

// dateValue holds the units a layout read; a unit not read is -1.
type dateValue [numUnits]int

// parse reads v with layout l. It succeeds only when v matches the whole
// layout and every unit is in range (the day for its month, and for the
// year when the layout has one).
func (l dateLayout) parse(v string) (dateValue, bool) {
	var t dateValue
	for i := range t {
		t[i] = -1
	}
	i := 0
	for _, tok := range l {
		if tok.unit == unitLiteral {
			if i >= len(v) || v[i] != tok.lit {
				return t, false
			}
			i++
			continue
		}
		w := tok.unit.width()
		if i+w > len(v) {
			return t, false
		}
		n := 0
		for _, c := range []byte(v[i : i+w]) {
			if c < '0' || c > '9' {
				return t, false
			}
			n = n*10 + int(c-'0')
		}
		t[tok.unit] = n
		i += w
	}
	return t, i == len(v) && t.valid()
}

func (t dateValue) valid() bool {
	in := func(u dateUnit, lo, hi int) bool { return t[u] < 0 || t[u] >= lo && t[u] <= hi }
	if !in(unitMonth, 1, 12) || !in(unitHour, 0, 23) || !in(unitMinute, 0, 59) || !in(unitSecond, 0, 59) {
		return false
	}
	return in(unitDay, 1, daysIn(t[unitMonth], t[unitYear]))
}

// daysIn returns the number of days of month (1-12) in year; an unknown
// month (-1) allows 31 and an unknown year (-1) allows February 29.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year < 0 || year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// format writes t with layout l; every unit of l was read (Build checks).
func (l dateLayout) format(t dateValue) string {
	b := make([]byte, 0, len(l)+8)
	for _, tok := range l {
		if tok.unit == unitLiteral {
			b = append(b, tok.lit)
			continue
		}
		b = appendPadded(b, max(t[tok.unit], 0), tok.unit.width())
	}
	return string(b)
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n, width int) []byte {
	var d [4]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:width]...)
}
