package channels

import (
	"testing"
	"time"
)

func TestCronNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		expr, from, want string
	}{
		{"@hourly", "2026-11-25 16:59", "2026-11-25 17:00"},
		{"@hourly", "2026-11-25 17:00", "2026-11-25 18:00"},
		{"*/15 * * * *", "2026-11-25 16:07", "2026-11-25 16:15"},
		{"30 2 * * *", "2026-11-25 16:07", "2026-11-26 02:30"},
		{"0 9-17/4 * * 1-5", "2026-11-27 18:00", "2026-11-30 09:00"}, // Friday evening -> Monday
		{"0 0 1 * *", "2026-12-15 00:00", "2027-01-01 00:00"},
		{"0 0 * * 7", "2026-11-25 00:00", "2026-11-29 00:00"},  // 7 is Sunday
		{"0 0 13 * 5", "2026-11-01 00:00", "2026-11-06 00:00"}, // either Friday or the 13th
		{"5,10 * * * *", "2026-11-25 16:05", "2026-11-25 16:10"},
		{"0 0 30 2 *", "2026-01-01 00:00", ""}, // never
	}
	for _, tc := range tests {
		c, err := parseCron(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		got := c.next(at(tc.from))
		var want time.Time
		if tc.want != "" {
			want = at(tc.want)
		}
		if !got.Equal(want) {
			t.Errorf("%q after %s = %s, want %s", tc.expr, tc.from, got, want)
		}
	}
}

// TestCronNextHalfHourZone: in a zone offset by half an hour (India),
// the hour's top is local, not UTC's.
func TestCronNextHalfHourZone(t *testing.T) {
	ist := time.FixedZone("IST", 5*3600+1800)
	c, err := parseCron("0 11 * * *")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 25, 9, 7, 0, 0, ist)
	if got, want := c.next(from), time.Date(2026, 11, 25, 11, 0, 0, 0, ist); !got.Equal(want) {
		t.Errorf("next after %s = %s, want %s", from, got, want)
	}
}

func TestCronErrors(t *testing.T) {
	for _, expr := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "x * * * *"} {
		if _, err := parseCron(expr); err == nil {
			t.Errorf("parseCron(%q) succeeded", expr)
		}
	}
}
