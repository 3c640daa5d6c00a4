package validate

import "time"

// parseDate reads the YYYYMMDD start of an HL7 date or timestamp and
// returns it as the number YYYYMMDD. The rest, if any, may hold only
// digits, '.', '+' and '-' (time, fraction, time zone). It is false when
// the first eight characters are not a calendar date.
func parseDate(b []byte) (int, bool) {
	if len(b) < 8 {
		return 0, false
	}
	n := 0
	for _, c := range b[:8] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	for _, c := range b[8:] {
		if (c < '0' || c > '9') && c != '.' && c != '+' && c != '-' {
			return 0, false
		}
	}
	y, m, d := n/10000, n/100%100, n%100
	if y < 1800 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// isTSZ reports whether b is a timestamp with seconds and a time zone,
// YYYYMMDDHHMMSS[.S[S[S[S]]]]+/-ZZZZ (IZ-TS_Z).
func isTSZ(b []byte) bool {
	if len(b) < 19 {
		return false
	}
	if _, ok := parseDate(b[:8]); !ok {
		return false
	}
	if !digits(b[8:14]) || twoDigits(b[8:10]) > 23 || twoDigits(b[10:12]) > 59 || twoDigits(b[12:14]) > 59 {
		return false
	}
	rest := b[14:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && i <= 4 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		rest = rest[i:]
	}
	return len(rest) == 5 && (rest[0] == '+' || rest[0] == '-') && digits(rest[1:]) &&
		twoDigits(rest[1:3]) <= 14 && twoDigits(rest[3:5]) <= 59
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func twoDigits(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

// isPosInt reports whether b is a positive integer.
func isPosInt(b []byte) bool {
	if !digits(b) {
		return false
	}
	for _, c := range b {
		if c != '0' {
			return true
		}
	}
	return false
}

// isNum reports whether b is an HL7 NM value: an optional sign, digits and
// at most one decimal point, with at least one digit.
func isNum(b []byte) bool {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		b = b[1:]
	}
	dot, n := false, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return n > 0
}

// dayNumber is t's calendar day in its location as YYYYMMDD.
func dayNumber(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}
