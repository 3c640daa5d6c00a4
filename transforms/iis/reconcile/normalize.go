package reconcile

import (
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// normDose is one side's dose, normalised for pairing.
type normDose struct {
	idx    int        // index in the caller's slice
	d      chart.Dose // the dose as given
	cvx    string     // canonical CVX, "" when unknown
	groups []string   // CDC vaccine groups of cvx
	date   string     // first 8 digits of Date
	day    int        // days since 1970-01-01, valid when dayOK
	dayOK  bool

	ndc, lot, mvx, amount, source, completion, facility string
}

// prepare normalises the doses of one side and drops those that are not
// immunization events (chart.Dose.Event: CVX 998, RXA-20 NA or RE).
func prepare(ds []chart.Dose) []normDose {
	out := make([]normDose, 0, len(ds))
	for i, d := range ds {
		if !d.Event() {
			continue
		}
		completion := strings.ToUpper(strings.TrimSpace(d.Completion))
		if completion == "" {
			completion = "CP"
		}
		cvx := canonCVX(d.CVX, d.NDC)
		p := normDose{
			idx:        i,
			d:          d,
			cvx:        cvx,
			groups:     codes.Groups(cvx),
			date:       normDate(d.Date),
			ndc:        normNDC(d.NDC),
			lot:        strings.ToUpper(strings.TrimSpace(d.Lot)),
			mvx:        strings.ToUpper(strings.TrimSpace(d.MVX)),
			amount:     normAmount(d.Amount),
			source:     strings.TrimSpace(d.Source),
			completion: completion,
			facility:   collapse(d.Facility),
		}
		p.day, p.dayOK = dayNumber(p.date)
		out = append(out, p)
	}
	return out
}

// canonCVX returns chart.CanonCVX of the CVX code ("8" → "08"), or, with no
// CVX, the CVX of the NDC; else "".
func canonCVX(cvx, ndc string) string {
	if strings.TrimSpace(cvx) == "" {
		cvx, _ = codes.LookupNDC(ndc)
	}
	return chart.CanonCVX(cvx)
}

// normDate keeps the first 8 digits of an HL7 date or timestamp.
func normDate(s string) string {
	s = digits(s)
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}

// dayNumber turns "YYYYMMDD" into a day count, so dates can be subtracted.
func dayNumber(date string) (int, bool) {
	if len(date) != 8 {
		return 0, false
	}
	t, err := time.Parse("20060102", date)
	if err != nil {
		return 0, false
	}
	return int(t.Unix() / 86400), true
}

// normNDC pads a hyphenated NDC to 5-4-2 and hyphenates an 11-digit one, so
// the 10-digit and 11-digit spellings of one package compare equal. Anything
// else is kept trimmed.
func normNDC(s string) string {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "-")
	widths := [3]int{5, 4, 2}
	switch {
	case len(parts) == 1 && len(s) == 11 && allDigits(s):
		return s[:5] + "-" + s[5:9] + "-" + s[9:]
	case len(parts) == 3:
		for i, p := range parts {
			if p == "" || len(p) > widths[i] || !allDigits(p) {
				return s
			}
			parts[i] = strings.Repeat("0", widths[i]-len(p)) + p
		}
		return strings.Join(parts, "-")
	}
	return s
}

// normAmount compares amounts as numbers (".25" is "0.25"); "999", the
// IG's "amount unknown", counts as absent.
func normAmount(s string) string {
	s = strings.TrimSpace(s)
	if s == "999" {
		return ""
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

// sourceCategory classifies an NIP001 code: "administered" for 00,
// "historical" for 01–08, "" when absent or not an NIP001 code.
func sourceCategory(s string) string {
	switch s {
	case "00":
		return "administered"
	case "01", "02", "03", "04", "05", "06", "07", "08":
		return "historical"
	}
	return ""
}

// collapse trims s and collapses runs of white space to one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func digits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// sharedGroups counts the vaccine groups a and b have in common.
func sharedGroups(a, b []string) int {
	n := 0
	for _, g := range a {
		for _, h := range b {
			if g == h {
				n++
				break
			}
		}
	}
	return n
}
