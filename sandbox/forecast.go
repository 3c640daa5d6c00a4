package sandbox

import (
	"slices"
	"time"

	"github.com/iisync/iisync/transforms/iis/codes"
)

// This file is the simulator's forecaster: a small table of the CDC/ACIP
// childhood schedule (routine ages, minimum ages and intervals) and a
// count-based evaluation. It is deliberately simple — no CDSi logic, no
// catch-up tables, no product-specific series (Rotarix's 2 doses, PRP-OMP
// Hib), no high-risk conditions, no contraindications — and exists so that
// a Z42 has a realistic shape and plausible dates. Never use it for care.

// span is an age or an interval: years, months and days (weeks as 7 days).
type span struct{ y, m, d int }

func (a span) after(t time.Time) time.Time { return t.AddDate(a.y, a.m, a.d) }
func (a span) zero() bool                  { return a == span{} }

func weeks(n int) span  { return span{d: 7 * n} }
func months(n int) span { return span{m: n} }
func years(n int) span  { return span{y: n} }

// doseRule is when one dose of a series may and should be given.
type doseRule struct {
	minAge  span // earliest valid age
	recAge  span // routine (due) age
	pastDue span // age from which the dose is overdue
	minInt  span // minimum interval from the previous valid dose
	recInt  span // routine interval from the previous valid dose
}

// series is the schedule of one vaccine group.
type series struct {
	group  string // CDC vaccine group, spelled as in codes (vax2vg)
	doses  []doseRule
	maxAge span // the series is not given from this age on; zero = no limit
	annual bool // influenza: one dose per season from 6 months of age
}

// grace is the CDSi grace period: a dose given up to 4 days before its
// minimum age or interval still counts.
const grace = 4

// schedule is the simulator's childhood schedule, in forecast order.
var schedule = []series{
	{group: "HepB", doses: []doseRule{
		{minAge: span{}, recAge: span{}, pastDue: months(2)},
		{minAge: weeks(4), recAge: months(1), pastDue: months(3), minInt: weeks(4), recInt: weeks(4)},
		{minAge: weeks(24), recAge: months(6), pastDue: months(19), minInt: weeks(8), recInt: weeks(8)},
	}},
	{group: "DTAP", maxAge: years(7), doses: []doseRule{
		{minAge: weeks(6), recAge: months(2), pastDue: months(3)},
		{minAge: weeks(10), recAge: months(4), pastDue: months(5), minInt: weeks(4), recInt: weeks(8)},
		{minAge: weeks(14), recAge: months(6), pastDue: months(7), minInt: weeks(4), recInt: weeks(8)},
		{minAge: months(12), recAge: months(15), pastDue: months(19), minInt: months(6), recInt: months(6)},
		{minAge: years(4), recAge: years(4), pastDue: years(6), minInt: months(6), recInt: months(6)},
	}},
	{group: "POLIO", maxAge: years(18), doses: []doseRule{
		{minAge: weeks(6), recAge: months(2), pastDue: months(3)},
		{minAge: weeks(10), recAge: months(4), pastDue: months(5), minInt: weeks(4), recInt: weeks(8)},
		{minAge: weeks(14), recAge: months(6), pastDue: months(19), minInt: weeks(4), recInt: weeks(8)},
		{minAge: years(4), recAge: years(4), pastDue: years(6), minInt: months(6), recInt: months(6)},
	}},
	{group: "HIB", maxAge: years(5), doses: []doseRule{
		{minAge: weeks(6), recAge: months(2), pastDue: months(3)},
		{minAge: weeks(10), recAge: months(4), pastDue: months(5), minInt: weeks(4), recInt: weeks(8)},
		{minAge: weeks(14), recAge: months(6), pastDue: months(7), minInt: weeks(4), recInt: weeks(8)},
		{minAge: months(12), recAge: months(12), pastDue: months(16), minInt: weeks(8), recInt: weeks(8)},
	}},
	{group: "PneumoPCV", maxAge: years(5), doses: []doseRule{
		{minAge: weeks(6), recAge: months(2), pastDue: months(3)},
		{minAge: weeks(10), recAge: months(4), pastDue: months(5), minInt: weeks(4), recInt: weeks(8)},
		{minAge: weeks(14), recAge: months(6), pastDue: months(7), minInt: weeks(4), recInt: weeks(8)},
		{minAge: months(12), recAge: months(12), pastDue: months(16), minInt: weeks(8), recInt: weeks(8)},
	}},
	{group: "ROTAVIRUS", maxAge: months(8), doses: []doseRule{
		{minAge: weeks(6), recAge: months(2), pastDue: months(3)},
		{minAge: weeks(10), recAge: months(4), pastDue: months(5), minInt: weeks(4), recInt: weeks(8)},
		{minAge: weeks(14), recAge: months(6), pastDue: months(7), minInt: weeks(4), recInt: weeks(8)},
	}},
	{group: "MMR", doses: []doseRule{
		{minAge: months(12), recAge: months(12), pastDue: months(16)},
		{minAge: span{m: 13}, recAge: years(4), pastDue: years(7), minInt: weeks(4), recInt: weeks(4)},
	}},
	{group: "VARICELLA", doses: []doseRule{
		{minAge: months(12), recAge: months(12), pastDue: months(16)},
		{minAge: months(15), recAge: years(4), pastDue: years(7), minInt: months(3), recInt: months(3)},
	}},
	{group: "HepA", doses: []doseRule{
		{minAge: months(12), recAge: months(12), pastDue: months(24)},
		{minAge: months(18), recAge: months(18), pastDue: months(24), minInt: months(6), recInt: months(6)},
	}},
	{group: "FLU", annual: true, doses: []doseRule{
		{minAge: months(6), recAge: months(6)},
	}},
}

// seriesFor returns the schedule entry of a vaccine group.
func seriesFor(group string) (series, bool) {
	i := slices.IndexFunc(schedule, func(s series) bool { return s.group == group })
	if i < 0 {
		return series{}, false
	}
	return schedule[i], true
}

// Forecast statuses (59783-1), as LOINC answer codes.
const (
	statusComplete   = "LA13421-5^Complete^LN"
	statusOnSchedule = "LA13422-3^On schedule^LN"
	statusOverdue    = "LA13423-1^Overdue^LN"
	statusTooOld     = "LA13424-9^Too old^LN"
)

// evaluation is the verdict on one dose for one vaccine group.
type evaluation struct {
	valid  bool
	number int    // dose number in the series when valid
	reason string // why not valid
}

// forecast is the recommendation for one vaccine group.
type forecast struct {
	group                          string
	status                         string // a status* constant
	doseNumber                     int    // of the next dose; 0 when none is due
	earliest, due, overdue, latest string // YYYYMMDD, "" when not applicable
}

// day parses YYYYMMDD; the caller has validated it.
func day(s string) time.Time {
	t, _ := time.Parse("20060102", s)
	return t
}

func ymd(t time.Time) string { return t.Format("20060102") }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// groupDoses returns, sorted by date, the administered doses of p that
// belong to a vaccine group.
func groupDoses(doses []Dose, group string) []Dose {
	var out []Dose
	for _, d := range doses {
		if d.administered() && d.Date != "" && slices.Contains(codes.Groups(d.CVX), group) {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b Dose) int {
		switch {
		case a.Date < b.Date:
			return -1
		case a.Date > b.Date:
			return 1
		}
		return 0
	})
	return out
}

// evaluate judges each dose of a group (doses sorted by date) against the
// schedule: valid when given at or after the minimum age and interval,
// less the grace period. It returns one evaluation per dose, keyed by dose
// ID, and the date of the last valid dose.
func (sr series) evaluate(dob time.Time, doses []Dose) (map[string]evaluation, int, time.Time) {
	out := make(map[string]evaluation, len(doses))
	valid := 0
	var last time.Time
	for _, d := range doses {
		t := day(d.Date)
		if sr.annual {
			ev := evaluation{valid: !t.Before(sr.doses[0].minAge.after(dob).AddDate(0, 0, -grace))}
			if ev.valid {
				valid++
				ev.number = valid
				last = t
			} else {
				ev.reason = "Too young"
			}
			out[d.ID] = ev
			continue
		}
		if valid >= len(sr.doses) {
			out[d.ID] = evaluation{reason: "Extra dose"}
			continue
		}
		r := sr.doses[valid]
		switch {
		case t.Before(r.minAge.after(dob).AddDate(0, 0, -grace)):
			out[d.ID] = evaluation{reason: "Too young"}
		case valid > 0 && t.Before(r.minInt.after(last).AddDate(0, 0, -grace)):
			out[d.ID] = evaluation{reason: "Too soon"}
		default:
			valid++
			last = t
			out[d.ID] = evaluation{valid: true, number: valid}
		}
	}
	return out, valid, last
}

// forecast recommends the next dose of the series for a patient born on
// dob who has the given doses, as of today.
func (sr series) forecast(dob, today time.Time, doses []Dose) forecast {
	_, valid, last := sr.evaluate(dob, doses)
	f := forecast{group: sr.group}
	if sr.annual {
		return sr.annualForecast(dob, today, valid, last)
	}
	if valid >= len(sr.doses) {
		f.status = statusComplete
		return f
	}
	if !sr.maxAge.zero() && !today.Before(sr.maxAge.after(dob)) {
		f.status = statusTooOld
		return f
	}
	r := sr.doses[valid]
	earliest := r.minAge.after(dob)
	due := r.recAge.after(dob)
	if valid > 0 {
		earliest = later(earliest, r.minInt.after(last))
		due = later(due, r.recInt.after(last))
	}
	due = later(due, earliest)
	overdue := later(r.pastDue.after(dob), due.AddDate(0, 1, 0))
	f.doseNumber = valid + 1
	f.earliest, f.due, f.overdue = ymd(earliest), ymd(due), ymd(overdue)
	if !sr.maxAge.zero() {
		f.latest = ymd(sr.maxAge.after(dob).AddDate(0, 0, -1))
	}
	f.status = statusOnSchedule
	if !today.Before(overdue) {
		f.status = statusOverdue
	}
	return f
}

// annualForecast handles influenza: one dose per season (August to July)
// from 6 months of age. Children needing two doses in their first season
// are not modelled.
func (sr series) annualForecast(dob, today time.Time, valid int, last time.Time) forecast {
	f := forecast{group: sr.group, status: statusOnSchedule, doseNumber: valid + 1}
	season := time.Date(today.Year(), time.August, 1, 0, 0, 0, 0, time.UTC)
	if today.Before(season) {
		season = season.AddDate(-1, 0, 0)
	}
	start := season
	if valid > 0 && !last.Before(season) {
		start = season.AddDate(1, 0, 0) // this season's dose is done
	}
	earliest := later(start, sr.doses[0].minAge.after(dob))
	f.earliest, f.due = ymd(earliest), ymd(earliest)
	return f
}

// forecasts returns the forecast of every group of the schedule for a
// patient, as of today. It returns nil when the birth date is unknown.
func forecasts(p Patient, today time.Time) []forecast {
	dob, ok := parseDate(p.DOB)
	if !ok {
		return nil
	}
	born := day(dob)
	out := make([]forecast, 0, len(schedule))
	for _, sr := range schedule {
		out = append(out, sr.forecast(born, today, groupDoses(p.Doses, sr.group)))
	}
	return out
}
