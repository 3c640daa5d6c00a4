package query

import (
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// LOINC observation identifiers of the evaluated history and forecast
// (shared docs/iis-domain.md §3.8, §4.3).
const (
	loincVaccineType   = "30956-7" // vaccine type (vaccine group CVX)
	loincDueNext       = "30979-9" // vaccines due next (some registries' vaccine type)
	loincComponentType = "38890-0" // component vaccine type
	loincStatus        = "59783-1" // status in immunization series
	loincDoseNumber    = "30973-2" // dose number in series
	loincEarliest      = "30981-5" // earliest date to give
	loincDue           = "30980-7" // date vaccine due
	loincLatest        = "59777-3" // latest date next dose may be given
	loincOverdue       = "59778-1" // date dose is overdue
	loincSchedule      = "59779-9" // immunization schedule used
	loincReason        = "30982-3" // reason applied by forecast logic
)

// obxGroup is the OBX of one RXA that share an OBX-4 sub-ID: one vaccine
// group's evaluation or forecast.
type obxGroup struct {
	typeCode string // loincVaccineType or loincDueNext when the group has one
	segs     []hl7.Segment
}

// groupOBX splits the OBX of one RXA into sub-ID groups, in order of first
// appearance. A vaccine-type OBX in a group that already has one starts a
// new group, for registries whose OBX-4 never changes.
func groupOBX(obx []hl7.Segment) []*obxGroup {
	var out []*obxGroup
	open := map[string]*obxGroup{}
	for _, s := range obx {
		sub := strings.TrimSpace(s.Field(4).String())
		code := obsCode(s)
		isType := code == loincVaccineType || code == loincDueNext
		g := open[sub]
		if g == nil || isType && g.typeCode != "" {
			g = &obxGroup{}
			open[sub] = g
			out = append(out, g)
		}
		if isType {
			g.typeCode = code
		}
		g.segs = append(g.segs, s)
	}
	return out
}

// obsCode returns the observation identifier of an OBX (OBX-3.1). When it
// has sub-components, as in DelVax's "30979-9&30980-7" (the due date of
// the vaccine due next), the last one names the observation.
func obsCode(obx hl7.Segment) string {
	c := obx.Field(3).Component(1)
	code := ""
	for i := 1; i <= 5; i++ {
		sc := c.Component(i)
		if !sc.Present() {
			break
		}
		if v := strings.TrimSpace(sc.String()); v != "" {
			code = v
		}
	}
	return strings.ToUpper(code)
}

// forecast reads one forecast row from a group. It reports false when the
// group names no vaccine. msgDate (YYYYMMDD, the answer's MSH-7) dates the
// statuses derived from dates.
func (g *obxGroup) forecast(msgDate string) (Forecast, bool) {
	var (
		f                    Forecast
		code, text, system   string
		hasStatus, hasVaccin bool
	)
	for _, s := range g.segs {
		v := s.Field(5)
		switch obsCode(s) {
		case loincVaccineType, loincDueNext, loincComponentType:
			if !hasVaccin {
				f.CVX, f.VaccineText = cvxOf(v)
				hasVaccin = f.CVX != "" || f.VaccineText != ""
			}
		case loincStatus:
			code = strings.TrimSpace(v.Component(1).String())
			text = strings.TrimSpace(v.Component(2).String())
			system = strings.TrimSpace(v.Component(3).String())
			hasStatus = code != "" || text != ""
		case loincDoseNumber:
			f.DoseNumber = strings.TrimSpace(v.Component(1).String())
		case loincEarliest:
			f.Earliest = date8(v.Component(1).String())
		case loincDue:
			f.Due = date8(v.Component(1).String())
		case loincLatest:
			f.Latest = date8(v.Component(1).String())
		case loincOverdue:
			f.Overdue = date8(v.Component(1).String())
		case loincSchedule:
			f.Schedule = strings.TrimSpace(v.Component(1).String())
		case loincReason:
			f.Reason = textOf(v)
		}
	}
	if !hasVaccin {
		return Forecast{}, false
	}
	f.Group = groupOf(f.CVX, f.VaccineText)
	f.Status = ForecastUnknown
	if hasStatus {
		f.StatusText = text
		if text == "" {
			f.StatusText = code
		}
		f.Status = normaliseStatus(code, text, system)
	}
	if f.Status == ForecastUnknown {
		f.Status = statusFromDates(f, msgDate)
	}
	return f, true
}

// cvxOf reads a CE/CWE that names a vaccine: the CVX triplet (the first,
// or the alternate one when only it is CVX) and its text.
func cvxOf(v hl7.Field) (cvx, text string) {
	get := func(n int) string { return strings.TrimSpace(v.Component(n).String()) }
	switch {
	case get(3) == "" || strings.EqualFold(get(3), "CVX"):
		return get(1), get(2)
	case strings.EqualFold(get(6), "CVX"):
		return get(4), get(5)
	}
	if t := get(2); t != "" {
		return "", t
	}
	return "", get(1)
}

// textOf returns the text of a CE/CWE, or its code when it has none (an ST
// value is its own code).
func textOf(v hl7.Field) string {
	if t := strings.TrimSpace(v.Component(2).String()); t != "" {
		return t
	}
	return strings.TrimSpace(v.Component(1).String())
}

// groupOf names the vaccine group of a forecast row: the CDC group of its
// CVX (for a combination vaccine, the group its text names, else the
// first), else the text, else the code.
func groupOf(cvx, text string) string {
	gs := codes.Groups(cvx)
	switch len(gs) {
	case 0:
		if text != "" {
			return text
		}
		return cvx
	case 1:
		return gs[0]
	}
	t := letters(text)
	for _, g := range gs {
		if l := letters(g); l != "" && strings.Contains(t, l) {
			return g
		}
	}
	return gs[0]
}

// normaliseStatus maps a 59783-1 value to a ForecastStatus. Registries use
// no common code system (shared testdata/codes/status_in_series_59783-1_
// observed.tsv): LOINC answers (WebIZ, AL), STC0002 (STC IWeb), MCIR's
// eval_result_id, TCH codes, and free text (FL, WI). Codes are read first,
// then the words of the text.
func normaliseStatus(code, text, system string) ForecastStatus {
	uc, sys := strings.ToUpper(code), strings.ToUpper(system)
	switch uc {
	case "LA13421-5":
		return ForecastComplete
	case "LA13422-3":
		return ForecastNotComplete
	case "LA13423-1":
		return ForecastOverdue
	case "LA13424-9":
		return ForecastAgedOut
	}
	switch {
	case sys == "STC0002":
		switch uc {
		case "P":
			return ForecastOverdue
		case "U":
			return ForecastNotComplete
		case "D":
			return ForecastDue
		}
	case sys == "EVAL_RESULT_ID":
		switch uc {
		case "1":
			return ForecastComplete
		case "3":
			return ForecastNotComplete
		case "4":
			return ForecastOverdue
		}
	case strings.Contains(sys, "TCH") || strings.Contains(sys, "LSVF"):
		switch uc {
		case "O":
			return ForecastOverdue
		case "D":
			return ForecastDue
		}
	}
	if s := statusFromWords(text); s != ForecastUnknown {
		return s
	}
	return statusFromWords(code)
}

// statusFromWords reads a status from its words, most specific first.
func statusFromWords(s string) ForecastStatus {
	w := " " + strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}), " ")) + " "
	has := func(words ...string) bool {
		for _, x := range words {
			if strings.Contains(w, " "+x+" ") {
				return true
			}
		}
		return false
	}
	switch {
	case w == "  ":
		return ForecastUnknown
	case has("too old", "aged out", "age out", "maximum age", "max age", "too late"):
		return ForecastAgedOut
	case has("immune", "immunity", "has immunity"):
		return ForecastImmune
	case has("contraindicated", "contraindication"):
		return ForecastContraindicated
	case has("incomplete", "not complete", "in progress", "up to date", "uptodate", "on schedule", "due later", "not due"):
		return ForecastNotComplete
	case has("complete", "completed", "finished"):
		return ForecastComplete
	case has("overdue", "past due", "late"):
		return ForecastOverdue
	case has("due", "due now"):
		return ForecastDue
	case has("not recommended"):
		return ForecastNotRecommended
	}
	return ForecastUnknown
}

// statusFromDates derives a status from a row's dates as of msgDate: past
// the latest date, aged out; past the overdue date, overdue; past the due
// date, due; any other dated row is not complete.
func statusFromDates(f Forecast, msgDate string) ForecastStatus {
	switch {
	case msgDate == "":
		return ForecastUnknown
	case f.Latest != "" && msgDate > f.Latest:
		return ForecastAgedOut
	case f.Overdue != "" && msgDate >= f.Overdue:
		return ForecastOverdue
	case f.Due != "" && msgDate >= f.Due:
		return ForecastDue
	case f.Earliest != "" || f.Due != "" || f.Overdue != "" || f.Latest != "":
		return ForecastNotComplete
	}
	return ForecastUnknown
}
