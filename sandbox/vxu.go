package sandbox

import (
	"slices"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// orderGroup is one ORDER group of a VXU: the RXA with the ORC before it
// and the RXR and OBX segments after it.
type orderGroup struct {
	seq       int // occurrence of the RXA, 1-based
	orc, rxr  hl7.Segment
	rxa       hl7.Segment
	obx       []hl7.Segment
	hasORC    bool
	hasRXR    bool
	hasVFCObs bool // an OBX 64994-7 (VFC eligibility) follows the RXA
}

func orderGroups(m *hl7.Message) []orderGroup {
	var out []orderGroup
	var orc hl7.Segment
	hasORC := false
	for seg := range m.Segments() {
		switch seg.Name() {
		case "ORC":
			orc, hasORC = seg, true
		case "RXA":
			out = append(out, orderGroup{seq: len(out) + 1, orc: orc, hasORC: hasORC, rxa: seg})
			hasORC = false
		case "RXR":
			if len(out) > 0 {
				out[len(out)-1].rxr, out[len(out)-1].hasRXR = seg, true
			}
		case "OBX":
			if len(out) > 0 {
				g := &out[len(out)-1]
				g.obx = append(g.obx, seg)
				if val(seg.Field(3).Component(1)) == "64994-7" {
					g.hasVFCObs = true
				}
			}
		}
	}
	return out
}

// val returns an element's decoded value without surrounding spaces.
func val(f hl7.Field) string { return strings.TrimSpace(f.String()) }

// leaf returns the first sub-component of a component: the plain value of
// an element that may carry sub-components (XPN.1 family name, HD.1).
func leaf(f hl7.Field) string { return strings.TrimSpace(f.Component(1).String()) }

// parseDate reads the YYYYMMDD start of an HL7 date or timestamp.
func parseDate(s string) (string, bool) {
	if len(s) < 8 {
		return "", false
	}
	if _, err := time.Parse("20060102", s[:8]); err != nil {
		return "", false
	}
	for i := 8; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '.' && c != '+' && c != '-' {
			return "", false
		}
	}
	return s[:8], true
}

// pidDemographics reads the patient from a VXU's PID.
func pidDemographics(pid hl7.Segment, d hl7.Delimiters) (demo demographics, rawDOB string) {
	demo.mrns, demo.registryIDs = identifiers(pid.Field(3), d)
	demo.family = leaf(pid.Field(5).Component(1))
	demo.given = val(pid.Field(5).Component(2))
	demo.middle = val(pid.Field(5).Component(3))
	demo.mother = leaf(pid.Field(6).Component(1))
	rawDOB = val(pid.Field(7).Component(1))
	demo.dob, _ = parseDate(rawDOB)
	demo.sex = strings.ToUpper(val(pid.Field(8).Component(1)))
	demo.address = standardize(pid.Field(11).Raw(), d)
	demo.phone = standardize(pid.Field(13).Raw(), d)
	return demo, rawDOB
}

// Error details of the VXU checks. User messages name the field, never
// its value.
func required(l hl7.Location, msg string) hl7.ErrorDetail {
	return hl7.ErrorDetail{Location: l, Code: "101", CodeText: "Required field missing", Severity: 'E',
		AppCode: "7", AppCodeText: "Required data missing", UserMessage: msg}
}

func badDate(l hl7.Location, msg string) hl7.ErrorDetail {
	return hl7.ErrorDetail{Location: l, Code: "102", CodeText: "Data type error", Severity: 'E',
		AppCode: "2", AppCodeText: "Invalid Date", UserMessage: msg}
}

func illogicalDate(l hl7.Location, msg string) hl7.ErrorDetail {
	return hl7.ErrorDetail{Location: l, Code: "999", CodeText: "Application error", Severity: 'E',
		AppCode: "1", AppCodeText: "Illogical Date error", UserMessage: msg}
}

func notInTable(l hl7.Location, sev byte, msg string) hl7.ErrorDetail {
	return hl7.ErrorDetail{Location: l, Code: "103", CodeText: "Table value not found", Severity: sev,
		AppCode: "5", AppCodeText: "Table value not found", UserMessage: msg}
}

func warn(e hl7.ErrorDetail) hl7.ErrorDetail { e.Severity = 'W'; return e }

func pidLoc(field, comp int) hl7.Location {
	l := hl7.Location{Segment: "PID", Seq: 1, Field: field}
	if comp > 0 {
		l.Rep, l.Component = 1, comp
	}
	return l
}

// checkPatient returns the patient-level problems of a VXU: errors reject
// the whole message.
func checkPatient(demo demographics, rawDOB, today string) []hl7.ErrorDetail {
	var errs []hl7.ErrorDetail
	if len(demo.mrns) == 0 {
		errs = append(errs, required(pidLoc(3, 0), "Patient identifier (PID-3, type MR) is missing - message rejected"))
	}
	if demo.family == "" {
		errs = append(errs, required(pidLoc(5, 1), "Patient last name is missing - message rejected"))
	}
	if demo.given == "" {
		errs = append(errs, required(pidLoc(5, 2), "Patient first name is missing - message rejected"))
	}
	switch {
	case rawDOB == "":
		errs = append(errs, required(pidLoc(7, 0), "Patient birth date is missing - message rejected"))
	case demo.dob == "":
		errs = append(errs, badDate(pidLoc(7, 0), "Patient birth date is not a valid date - message rejected"))
	case demo.dob > today:
		errs = append(errs, illogicalDate(pidLoc(7, 0), "Patient birth date is in the future - message rejected"))
	}
	switch demo.sex {
	case "F", "M", "U", "X":
	case "":
		errs = append(errs, required(pidLoc(8, 0), "Patient sex is missing - message rejected"))
	default:
		errs = append(errs, notInTable(pidLoc(8, 0), 'E', "Patient sex is not recognized - message rejected"))
	}
	return errs
}

// doseInput is a dose that passed its checks, with what to do with it.
type doseInput struct {
	dose   Dose
	action string // RXA-21: A, U or D
	seq    int
}

// checkDose validates one ORDER group. ok is false when the dose is not
// to be stored: rejected (an E in errs) or ignored (CVX 998).
func checkDose(g orderGroup, dob, today string) (in doseInput, errs []hl7.ErrorDetail, ok bool) {
	rxa, n := g.rxa, g.seq
	loc := func(field, comp int) hl7.Location {
		l := hl7.Location{Segment: "RXA", Seq: n, Field: field}
		if comp > 0 {
			l.Rep, l.Component = 1, comp
		}
		return l
	}
	rejected := func() bool {
		return slices.ContainsFunc(errs, func(e hl7.ErrorDetail) bool { return e.Severity == 'E' })
	}

	// RXA-5: CVX, or NDC mapped to CVX; either may be the alternate code.
	f5 := rxa.Field(5)
	c1, sys1 := val(f5.Component(1)), strings.ToUpper(val(f5.Component(3)))
	c4, sys2 := val(f5.Component(4)), strings.ToUpper(val(f5.Component(6)))
	code, comp, isNDC := c1, 1, false
	switch {
	case sys1 == "CVX":
	case sys2 == "CVX" && c4 != "":
		code, comp = c4, 4
	case sys1 == "NDC" || (sys1 == "" && strings.Contains(c1, "-")):
		isNDC = true
	case sys2 == "NDC" && c4 != "":
		code, comp, isNDC = c4, 4, true
	}
	var cvx codes.CVX
	switch {
	case code == "":
		errs = append(errs, required(loc(5, 0), "Vaccine code (RXA-5) is missing - vaccination not saved"))
	case isNDC:
		c, found := codes.LookupNDC(code)
		if found {
			cvx, found = codes.LookupCVX(c)
		}
		if !found {
			errs = append(errs, notInTable(loc(5, comp), 'E', "Vaccine NDC code not recognized - vaccination not saved"))
		}
	default:
		c, found := codes.LookupCVX(code)
		if !found {
			errs = append(errs, notInTable(loc(5, comp), 'E', "Vaccine code not recognized - vaccination not saved"))
		}
		cvx = c
	}
	if cvx.Code == "998" {
		return doseInput{}, nil, false // no vaccine administered: nothing to store
	}

	// RXA-3: the date of administration.
	rawDate := val(rxa.Field(3).Component(1))
	date, valid := parseDate(rawDate)
	switch {
	case rawDate == "":
		errs = append(errs, required(loc(3, 0), "Vaccination date (RXA-3) is missing - vaccination not saved"))
	case !valid:
		errs = append(errs, badDate(loc(3, 0), "Vaccination date is not a valid date - vaccination not saved"))
	case dob != "" && date < dob:
		errs = append(errs, illogicalDate(loc(3, 0), "Vaccination date is before the patient's birth date - vaccination not saved"))
	case date > today:
		errs = append(errs, illogicalDate(loc(3, 0), "Vaccination date is in the future - vaccination not saved"))
	}

	// RXA-21: the action.
	action := strings.ToUpper(val(rxa.Field(21).Component(1)))
	switch action {
	case "":
		action = "A"
	case "A", "U", "D":
	default:
		errs = append(errs, notInTable(loc(21, 0), 'E', "Action code (RXA-21) not recognized - vaccination not saved"))
	}

	// RXA-20: completion status.
	completion := strings.ToUpper(val(rxa.Field(20).Component(1)))
	switch completion {
	case "CP", "PA", "RE", "NA":
	case "":
		completion = "CP"
	default:
		errs = append(errs, notInTable(loc(20, 0), 'W', "Completion status (RXA-20) not recognized - vaccination saved as complete"))
		completion = "CP"
	}

	d := Dose{
		CVX:           cvx.Code,
		Date:          date,
		Lot:           val(rxa.Field(15).Component(1)),
		Source:        val(rxa.Field(9).Component(1)),
		Amount:        val(rxa.Field(6)),
		Completion:    completion,
		Refusal:       completion == "RE",
		RefusalReason: val(rxa.Field(18).Component(1)),
	}
	if g.hasORC {
		d.PlacerID = val(g.orc.Field(2).Component(1))
		if f := val(g.orc.Field(3).Component(1)); f != "9999" {
			d.FillerID = f
		}
	}
	if g.hasRXR {
		d.Route = val(g.rxr.Field(1).Component(1))
		d.Site = val(g.rxr.Field(2).Component(1))
	}

	// RXA-17: manufacturer, when given, must be known; the dose is kept
	// without it.
	if mvx := val(rxa.Field(17).Component(1)); mvx != "" {
		if m, found := codes.LookupMVX(mvx); found {
			d.MVX = m.Code
		} else {
			errs = append(errs, notInTable(loc(17, 1), 'W', "Manufacturer code not recognized - manufacturer not saved"))
		}
	}

	// IZ-23: an administered dose needs its VFC eligibility (OBX 64994-7).
	if d.Source == "00" && (completion == "CP" || completion == "PA") && action != "D" && !g.hasVFCObs {
		errs = append(errs, hl7.ErrorDetail{
			Location: hl7.Location{Segment: "RXA", Seq: n}, Code: "101", CodeText: "Required field missing",
			Severity: 'W', AppCode: "6", AppCodeText: "Required observation missing",
			UserMessage: "VFC eligibility (OBX 64994-7) is missing for an administered vaccination",
		})
	}
	if rejected() {
		return doseInput{}, errs, false
	}
	return doseInput{dose: d, action: action, seq: n}, errs, true
}

// apply stores one dose on p as its action says and returns any warning.
func (st *store) apply(p *patient, in doseInput, facility string) []hl7.ErrorDetail {
	d := in.dose
	d.Facility = facility
	switch in.action {
	case "D":
		i := p.findDose(d, facility)
		if i < 0 {
			return []hl7.ErrorDetail{{
				Location: hl7.Location{Segment: "RXA", Seq: in.seq, Field: 21}, Code: "204", CodeText: "Unknown key identifier",
				Severity: 'W', AppCode: "3", AppCodeText: "Illogical Value error",
				UserMessage: "Vaccination to delete was not found - nothing deleted",
			}}
		}
		p.Doses[i].Deleted = true
		return nil
	case "U":
		if i := p.findDose(d, facility); i >= 0 {
			p.Doses[i] = merge(p.Doses[i], d)
			return nil
		}
	default: // "A": an add of a dose the registry already has updates it
		if i := p.findSame(d); i >= 0 {
			p.Doses[i] = merge(p.Doses[i], d)
			return nil
		}
	}
	d.ID = st.newDoseID()
	p.Doses = append(p.Doses, d)
	return nil
}

// ackCode chooses MSA-1 for a VXU that was not rejected as a whole.
func ackCode(errs []hl7.ErrorDetail, warningsAsAE bool) string {
	hasE, hasW := false, false
	for _, e := range errs {
		switch e.Severity {
		case 'E':
			hasE = true
		case 'W':
			hasW = true
		}
	}
	switch {
	case hasE, hasW && warningsAsAE:
		return "AE"
	}
	return "AA"
}

// vxu validates, stores and acknowledges one VXU^V04.
func (s *IIS) vxu(m *hl7.Message, facility string, b Behaviour, now time.Time) []byte {
	pid, ok := m.Segment("PID", 1)
	if !ok {
		return hl7.BuildACK(m, "AR", []hl7.ErrorDetail{{
			Location: hl7.Location{Segment: "PID", Seq: 1}, Code: "100", CodeText: "Segment sequence error",
			Severity: 'E', AppCode: "7", AppCodeText: "Required data missing",
			UserMessage: "Patient identification segment (PID) is missing - message rejected",
		}}, s.ackOptions(now))
	}
	today := now.Format("20060102")
	demo, rawDOB := pidDemographics(pid, m.Delims())
	errs := checkPatient(demo, rawDOB, today)
	if len(errs) > 0 {
		return hl7.BuildACK(m, "AR", errs, s.ackOptions(now))
	}
	if demo.address == "" {
		errs = append(errs, warn(required(pidLoc(11, 0), "Patient address is missing")))
	}
	var doses []doseInput
	for _, g := range orderGroups(m) {
		in, es, keep := checkDose(g, demo.dob, today)
		errs = append(errs, es...)
		if keep {
			doses = append(doses, in)
		}
	}
	s.mu.Lock()
	p := s.st.matchOrCreate(demo, facility)
	for _, in := range doses {
		errs = append(errs, s.st.apply(p, in, facility)...)
	}
	s.mu.Unlock()
	return hl7.BuildACK(m, ackCode(errs, b.WarningsAsAE), errs, s.ackOptions(now))
}
