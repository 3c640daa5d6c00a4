package validate

import (
	"bytes"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// artifactDate is a not-before date the AIRA codebase gives to many
// long-licensed vaccines (08, 03, 21, 33 …): the day the table was
// compiled, not the day the product entered use. It is ignored.
const artifactDate = 20100528

// orderGroup is one ORDER group of a VXU as the dose rules need it: an
// RXA with the ORC before it and whether a VFC OBX follows. The byte
// slices are views of the message.
type orderGroup struct {
	rxa, orc   int // positions in r.segs; orc -1 when the RXA has none
	vfc        bool
	vac        vaccine
	date       int
	dateOK     bool
	completion []byte
	source     []byte
	action     []byte
}

// observeVXU feeds one segment of a VXU to the MQE-style rules, in message
// order: the first PID is checked at once; ORC, RXA and OBX build the
// order groups, each checked by dose when it ends.
func (r *run) observeVXU(pos int, si *segInfo, v *segView) {
	d := r.d
	switch si.id {
	case idPID:
		if r.pidSeen {
			return
		}
		r.pidSeen = true
		r.dob, r.dobOK = parseDate(v.field(7).value(d))
		if r.dobOK && r.dob > r.today {
			r.add(rBirthDateInFuture, pos, hl7.Location{Segment: "PID", Seq: 1, Field: 7}, "999", "1",
				"PID-7 (Date/Time of Birth) is after today")
		}
		r.temporaryName(pos, v)
		if !v.field(11).valued(d) {
			r.add(rAddressMissing, pos, hl7.Location{Segment: "PID", Seq: 1, Field: 11}, "101", "7",
				"PID-11 (Patient Address) is missing")
		}
	case idORC:
		if r.inGroup {
			r.dose()
			r.inGroup = false
		}
		r.orc = pos
	case idRXA:
		if r.inGroup {
			r.dose()
		}
		g := orderGroup{rxa: pos, orc: r.orc}
		if r.vacPos == pos {
			g.vac = r.vac
		}
		g.date, g.dateOK = parseDate(v.field(3).value(d))
		g.completion = v.field(20).value(d)
		g.source = v.field(9).value(d)
		g.action = v.field(21).value(d)
		r.grp, r.inGroup, r.orc = g, true, -1
	case idOBX:
		if r.inGroup && is(v.at(3, 1, 0).value(d), "64994-7") {
			r.grp.vfc = true
		}
	}
}

// dose runs the dose rules on the order group that just ended.
func (r *run) dose() {
	g := &r.grp
	occ := r.segs[g.rxa].occ
	noVaccine := g.vac.ok && g.vac.cvx.Code == "998"
	given := len(g.completion) == 0 || is(g.completion, "CP") || is(g.completion, "PA")
	deleted := is(g.action, "D")
	historical := len(g.source) > 0 && !is(g.source, "00")

	loc3 := hl7.Location{Segment: "RXA", Seq: occ, Field: 3}
	if g.dateOK && !noVaccine {
		switch {
		case r.dobOK && g.date < r.dob:
			r.add(rDoseBeforeBirth, g.rxa, loc3, "999", "1",
				"RXA-3 (Date/Time Start of Administration) is before the patient's birth date (PID-7)")
		case g.date > r.today:
			r.add(rDoseInFuture, g.rxa, loc3, "999", "1",
				"RXA-3 (Date/Time Start of Administration) is after today")
		}
	}
	if !historical && given && !deleted && !noVaccine && !g.vfc {
		r.add(rVFCObxMissing, g.rxa, hl7.Location{Segment: "RXA", Seq: occ}, "101", "6",
			"VFC eligibility (OBX 64994-7) is missing for an administered dose (IZ-23)")
	}
	if g.vac.ok && g.dateOK && given && !deleted && !noVaccine && !r.usableOn(g.vac, g.date, historical) {
		r.add(rCVXNotValidOnDate, g.rxa, loc3, "999", "1",
			"RXA-5 (Administered Code) names a vaccine that was not in use on the RXA-3 (Date/Time Start of Administration) date")
	}
	if (is(g.completion, "NA") || is(g.completion, "RE")) && g.orc >= 0 {
		o := &r.segs[g.orc]
		if !is(trimmed(o.seg.Field(3).Component(1)), "9999") {
			r.add(rConstraint, g.orc, hl7.Location{Segment: "ORC", Seq: o.occ, Field: 3, Rep: 1, Component: 1}, "102", "4",
				"ORC-3 (Filler Order Number) shall be 9999 when RXA-20 (Completion Status) is NA or RE (IZ-45)")
		}
	}
}

// usableOn reports whether the vaccine could have been given on date: a
// CVX CDC marks Never Active never could; non-vaccines (999 unknown,
// immune globulins), non-US vaccines and historical doses recorded with an
// unspecified-formulation code are not judged; anything else must fall in
// the AIRA codebase use-date range (not-before, ignoring the artifact date
// and a not-before after the not-after; not-after).
func (r *run) usableOn(v vaccine, date int, historical bool) bool {
	switch v.cvx.Status {
	case "Never Active":
		return false
	case "Non-US":
		return true
	}
	u, ok := r.v.t.cvxDates[trimZeros(v.cvx.Code)]
	if !ok {
		return true
	}
	switch u.concept {
	case "non vaccine", "foreign vaccine":
		return true
	case "never active":
		return false
	case "unspecified":
		if historical {
			return true
		}
	}
	nb := u.notBefore
	if nb == artifactDate || (u.notAfter > 0 && nb > u.notAfter) {
		nb = 0
	}
	return date >= nb && (u.notAfter == 0 || date <= u.notAfter)
}

// temporaryName checks PID-5 (first repetition) for a temporary newborn
// name.
func (r *run) temporaryName(pos int, pid *segView) {
	name := pid.field(5).rep(r.d, 1)
	var buf [64]byte
	if given := name.comp(r.d, 2).value(r.d); len(given) > 0 && len(given) <= len(buf) &&
		r.v.t.tempGiven[normalizeName(buf[:0], given)] {
		r.add(rTemporaryName, pos, hl7.Location{Segment: "PID", Seq: 1, Field: 5, Rep: 1, Component: 2}, "999", "4",
			"PID-5.2 (Given Name) looks like a temporary newborn name")
	}
	if family := name.comp(r.d, 1).value(r.d); len(family) > 0 && len(family) <= len(buf) &&
		r.v.t.tempFamily[normalizeName(buf[:0], family)] {
		r.add(rTemporaryName, pos, hl7.Location{Segment: "PID", Seq: 1, Field: 5, Rep: 1, Component: 1}, "999", "4",
			"PID-5.1 (Family Name) looks like a placeholder, not the patient's name")
	}
}

// normalizeName upper-cases a name into dst, turns punctuation into single
// spaces and drops trailing birth-order tokens: a single letter ("Baby Girl
// A"), digits ("Boy 2", "BG1"), "#1", ONE, TWO, THREE. The result is a
// string over dst's bytes for a map lookup (no allocation).
func normalizeName(dst, name []byte) string {
	space := true
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			c = ' '
		}
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	for {
		dst = bytes.TrimRight(dst, " ")
		i := bytes.LastIndexByte(dst, ' ')
		last := dst[i+1:]
		if i < 0 {
			break
		}
		if len(last) == 1 || digits(last) || is(last, "ONE") || is(last, "TWO") || is(last, "THREE") {
			dst = dst[:i]
			continue
		}
		break
	}
	// "BG1", "BABYBOY2": digits glued to the last word.
	end := len(dst)
	for end > 0 && dst[end-1] >= '0' && dst[end-1] <= '9' {
		end--
	}
	if end > 0 {
		dst = dst[:end]
	}
	return string(dst)
}

// observeQBP runs the MQE-style rules of a query on its first QPD:
// without an identifier, the registry needs the name and birth date to
// match a patient.
func (r *run) observeQBP(pos int, si *segInfo, qpd *segView) {
	if si.id != idQPD || si.occ != 1 {
		return
	}
	d := r.d
	dob := qpd.field(6).value(d)
	if day, ok := parseDate(dob); ok && day > r.today {
		r.add(rBirthDateInFuture, pos, hl7.Location{Segment: "QPD", Seq: 1, Field: 6}, "999", "1",
			"QPD-6 (PatientDateOfBirth) is after today")
	}
	ids := qpd.field(3)
	for rep := 1; rep <= ids.reps(d) && rep <= maxReps; rep++ {
		if ids.rep(d, rep).comp(d, 1).valued(d) {
			return
		}
	}
	name := qpd.field(4).rep(d, 1)
	if !name.comp(d, 1).valued(d) {
		r.add(rQueryDemographicsMissing, pos, hl7.Location{Segment: "QPD", Seq: 1, Field: 4, Rep: 1, Component: 1}, "101", "7",
			"QPD-4.1 (family name of PatientName) is missing and the query has no patient identifier (QPD-3)")
	}
	if !name.comp(d, 2).valued(d) {
		r.add(rQueryDemographicsMissing, pos, hl7.Location{Segment: "QPD", Seq: 1, Field: 4, Rep: 1, Component: 2}, "101", "7",
			"QPD-4.2 (given name of PatientName) is missing and the query has no patient identifier (QPD-3)")
	}
	if len(dob) == 0 {
		r.add(rQueryDemographicsMissing, pos, hl7.Location{Segment: "QPD", Seq: 1, Field: 6}, "101", "7",
			"QPD-6 (PatientDateOfBirth) is missing and the query has no patient identifier (QPD-3)")
	}
}

// is reports whether b equals s, ignoring ASCII case.
func is(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}
