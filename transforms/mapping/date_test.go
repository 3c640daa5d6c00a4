package mapping

import (
	"strings"
	"testing"
)

func TestDateReformat(t *testing.T) {
	tests := []struct {
		from []string
		to   string
		in   string
		want string // "" = no layout matches
	}{
		{[]string{"MM/DD/YYYY"}, "YYYYMMDD", "07/04/2024", "20240704"},
		{[]string{"MM/DD/YYYY", "YYYY-MM-DD"}, "YYYYMMDD", "2024-07-04", "20240704"},
		{[]string{"YYYYMMDD"}, "MM/DD/YYYY", "20240229", "02/29/2024"},
		{[]string{"YYYYMMDD"}, "MM/DD/YYYY", "20230229", ""},           // not a leap year
		{[]string{"YYYYMMDD"}, "MM/DD/YYYY", "20000229", "02/29/2000"}, // divisible by 400
		{[]string{"YYYYMMDD"}, "MM/DD/YYYY", "21000229", ""},           // divisible by 100
		{[]string{"MM/DD"}, "MMDD", "02/29", "0229"},                   // no year: leap day allowed
		{[]string{"YYYYMMDD"}, "YYYYMMDD", "20241301", ""},             // month 13
		{[]string{"YYYYMMDD"}, "YYYYMMDD", "20240431", ""},             // April 31
		{[]string{"YYYYMMDD"}, "YYYYMMDD", "20240400", ""},             // day 0
		{[]string{"YYYYMMDD"}, "YYYYMMDD", "2024070", ""},              // short
		{[]string{"YYYYMMDD"}, "YYYYMMDD", "202407041", ""},            // long
		{[]string{"YYYYMMDD"}, "YYYYMMDD", "2024-7-4", ""},             // not digits
		{[]string{"MM/DD/YYYY"}, "YYYYMMDD", "7/4/2024", ""},           // no padding
		{[]string{"YYYY-MM-DDTHH:mm:SS"}, "YYYYMMDDHHmmSS", "2024-07-04T23:59:59", "20240704235959"},
		{[]string{"YYYY-MM-DDTHH:mm:SS"}, "YYYYMMDDHHmmSS", "2024-07-04T24:00:00", ""},
		{[]string{"YYYYMMDDHHmm"}, "MM/DD/YYYY", "202407041260", ""}, // minute 60
		{[]string{"DD.MM.YYYY HH:mm"}, "YYYYMMDD", "04.07.2024 08:30", "20240704"},
		{[]string{"YYYYMMDDHHmmSS"}, "HH:mm", "20240704083000", "08:30"},
	}
	for _, tc := range tests {
		s := &DateStep{Path: "PID-7", From: tc.from, To: tc.to}
		st, err := s.build()
		if err != nil {
			t.Fatalf("%v → %s: %v", tc.from, tc.to, err)
		}
		ds := st.(dateStep)
		got := ""
		for _, l := range ds.from {
			if v, ok := l.parse(tc.in); ok {
				got = ds.to.format(v)
				break
			}
		}
		if got != tc.want {
			t.Errorf("%v → %s of %q = %q, want %q", tc.from, tc.to, tc.in, got, tc.want)
		}
	}
}

func TestParseDateLayoutErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":           "required",
		"YYY-MM-DD":  `'Y' at offset 0`,
		"YYYYMMDDD":  `'D' at offset 8`,
		"YYYYMMYYYY": "YYYY used twice",
		"YY/MM/DD":   `'Y' at offset 0`,
		"HHmmSSHH":   "HH used twice",
		"T::":        "has no YYYY",
		"hh:mm":      "", // h is a literal: layout "hh:" then mm
	} {
		_, err := parseDateLayout(in)
		switch {
		case want == "" && err != nil:
			t.Errorf("parseDateLayout(%q) = %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("parseDateLayout(%q) = %v, want …%s…", in, err, want)
		}
	}
}
