package channels

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A cronSchedule is a five-field cron expression (minute, hour, day of
// month, month, day of week) as crontab(5) reads it: "*", numbers, ranges
// "a-b", lists "a,b" and steps "*/n" or "a-b/n"; day of week 0-7 with 0 and
// 7 Sunday; when both day fields are restricted a day matching either one
// matches. "@hourly", "@daily" (= "@midnight"), "@weekly" and "@monthly"
// are shorthands. Times are the engine's local time.
type cronSchedule struct {
	minute, hour, dom, month, dow uint64 // bit n set: value n allowed
	domAll, dowAll                bool
}

var errCron = errors.New("channels: bad cron expression")

var cronShorthands = map[string]string{
	"@hourly":   "0 * * * *",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@weekly":   "0 0 * * 0",
	"@monthly":  "0 0 1 * *",
}

// parseCron reads a cron expression; errors name the field at fault.
func parseCron(expr string) (*cronSchedule, error) {
	if s, ok := cronShorthands[strings.TrimSpace(expr)]; ok {
		expr = s
	}
	f := strings.Fields(expr)
	if len(f) != 5 {
		return nil, fmt.Errorf("%w: want 5 fields (minute hour day month weekday), got %d", errCron, len(f))
	}
	var c cronSchedule
	var err error
	parts := []struct {
		name     string
		lo, hi   int
		dst      *uint64
		wildcard *bool
	}{
		{"minute", 0, 59, &c.minute, nil},
		{"hour", 0, 23, &c.hour, nil},
		{"day of month", 1, 31, &c.dom, &c.domAll},
		{"month", 1, 12, &c.month, nil},
		{"day of week", 0, 7, &c.dow, &c.dowAll},
	}
	for i, p := range parts {
		if *p.dst, err = cronField(f[i], p.lo, p.hi); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errCron, p.name, err)
		}
		if p.wildcard != nil {
			*p.wildcard = strings.HasPrefix(f[i], "*")
		}
	}
	if c.dow&(1<<7) != 0 {
		c.dow |= 1 // 7 is Sunday too
	}
	return &c, nil
}

func cronField(s string, lo, hi int) (uint64, error) {
	var bits uint64
	for item := range strings.SplitSeq(s, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q is not a positive number", stepText)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b, err2 = strconv.Atoi(y)
			if err1 != nil || err2 != nil || a > b {
				return 0, fmt.Errorf("range %q is not a-b with a <= b", rng)
			}
		default:
			n, err := strconv.Atoi(rng)
			if err != nil {
				return 0, fmt.Errorf("%q is not a number", rng)
			}
			a, b = n, n
			if hasStep {
				b = hi
			}
		}
		if a < lo || b > hi {
			return 0, fmt.Errorf("%q is outside %d-%d", rng, lo, hi)
		}
		for v := a; v <= b; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

// next returns the first minute strictly after t that the schedule allows.
func (c *cronSchedule) next(t time.Time) time.Time {
	t = t.Truncate(time.Minute).Add(time.Minute)
	for limit := t.AddDate(5, 0, 0); t.Before(limit); {
		switch {
		case c.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, t.Location())
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, t.Location())
		case c.hour&(1<<uint(t.Hour())) == 0:
			// Not t.Truncate(time.Hour): that rounds in UTC, which is not
			// the top of the local hour in a zone offset by half an hour.
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, t.Location())
		case c.minute&(1<<uint(t.Minute())) == 0:
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{} // e.g. February 30th: never
}

func (c *cronSchedule) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<uint(t.Day())) != 0
	dow := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domAll || c.dowAll {
		return dom && dow
	}
	return dom || dow
}
