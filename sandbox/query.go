package sandbox

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// Query limits: RCP-2 asks for at most this many candidates (the AIRA IIS
// Sandbox caps it the same way), and a query without RCP-2 gets the
// default.
const (
	maxCandidates     = 20
	defaultCandidates = 10
)

// identifiers splits a CX field into MRNs and registry (SR) IDs.
func identifiers(f hl7.Field, d hl7.Delimiters) (mrns []mrn, registryIDs []string) {
	for rep := range f.Repetitions() {
		id := val(rep.Component(1))
		if id == "" {
			continue
		}
		if strings.EqualFold(val(rep.Component(5)), "SR") {
			registryIDs = append(registryIDs, id)
			continue
		}
		mrns = append(mrns, mrn{id: id, authority: standardize(rep.Component(4).Raw(), d)})
	}
	return mrns, registryIDs
}

// queryDemographics reads the QPD of a Z34/Z44 (QPD-3 identifiers, -4
// name, -5 mother's maiden name, -6 birth date, -7 sex).
func queryDemographics(qpd hl7.Segment, d hl7.Delimiters) (demo demographics, rawDOB string) {
	demo.mrns, demo.registryIDs = identifiers(qpd.Field(3), d)
	demo.family = leaf(qpd.Field(4).Component(1))
	demo.given = val(qpd.Field(4).Component(2))
	demo.mother = leaf(qpd.Field(5).Component(1))
	rawDOB = val(qpd.Field(6).Component(1))
	demo.dob, _ = parseDate(rawDOB)
	demo.sex = strings.ToUpper(val(qpd.Field(7).Component(1)))
	return demo, rawDOB
}

// checkQuery returns the problems that make a query unanswerable: without
// an identifier, the family name, given name and birth date are needed.
func checkQuery(tag string, demo demographics, rawDOB string) []hl7.ErrorDetail {
	var errs []hl7.ErrorDetail
	loc := func(field, comp int) hl7.Location {
		l := hl7.Location{Segment: "QPD", Seq: 1, Field: field}
		if comp > 0 {
			l.Rep, l.Component = 1, comp
		}
		return l
	}
	if tag == "" {
		errs = append(errs, required(loc(2, 0), "Query tag (QPD-2) is missing - query rejected"))
	}
	hasID := len(demo.mrns) > 0 || len(demo.registryIDs) > 0
	if !hasID && demo.family == "" {
		errs = append(errs, required(loc(4, 1), "Patient last name is missing - query rejected"))
	}
	if !hasID && demo.given == "" {
		errs = append(errs, required(loc(4, 2), "Patient first name is missing - query rejected"))
	}
	switch {
	case rawDOB == "" && !hasID:
		errs = append(errs, required(loc(6, 0), "Patient birth date is missing - query rejected"))
	case rawDOB != "" && demo.dob == "":
		errs = append(errs, badDate(loc(6, 0), "Patient birth date is not a valid date - query rejected"))
	}
	return errs
}

// find returns the patients a query names: the one with a registry ID it
// gives, else those with an MRN it gives from the same facility, else
// those with its name, birth date and sex (mother's maiden name breaking
// ties).
func (st *store) find(q demographics, facility string) []*patient {
	if p := st.byRegistryID(q); p != nil {
		return []*patient{p}
	}
	if ps := st.byMRN(q, facility); len(ps) > 0 {
		return ps
	}
	return st.byDemographics(q)
}

// rsp is the state of one RSP^K11 being written.
type rsp struct {
	s        *IIS
	in       *hl7.Message
	d        hl7.Delimiters
	facility string
	now      time.Time
	w        writer
}

// head writes MSH, MSA, the ERRs, QAK and the echoed QPD.
func (r *rsp) head(profile, msaCode, qakStatus string, errs []hl7.ErrorDetail, qpd hl7.Segment, hasQPD bool) {
	msh, _ := r.in.Segment("MSH", 1)
	raw := func(n int) string { return standardize(msh.Field(n).Raw(), r.d) }
	proc := raw(11)
	if proc == "" {
		proc = "P"
	}
	r.w.seg("MSH", `^~\&`, esc(r.s.cfg.ReceivingApp), esc(r.s.cfg.ReceivingFacility), raw(3), raw(4),
		hl7Time(r.now), "", "RSP^K11^RSP_K11", esc(r.s.nextControlID()), proc, "2.5.1",
		"", "", "NE", "NE", "", "", "", "", profile+"^CDCPHINVS", raw(23), raw(22))
	r.w.seg("MSA", esc(msaCode), raw(10))
	for _, e := range errs {
		r.w.err(e)
	}
	if !hasQPD {
		r.w.seg("QAK", "", qakStatus)
		return
	}
	r.w.seg("QAK", standardize(qpd.Field(2).Raw(), r.d), qakStatus, standardize(qpd.Field(1).Raw(), r.d))
	r.w.b.WriteString(standardize(qpd.Raw(), r.d))
	r.w.b.WriteByte('\r')
}

// pid writes a PID for p with set ID n: the querying facility's MRNs and
// the registry ID (SR).
func (r *rsp) pid(n int, p *patient) {
	var ids []string
	for _, m := range p.mrns {
		if m.facility != r.facility {
			continue
		}
		auth := m.authority
		if auth == "" {
			auth = esc(m.facility)
		}
		ids = append(ids, esc(m.id)+"^^^"+auth+"^MR")
	}
	ids = append(ids, esc(p.ID)+"^^^"+esc(r.s.cfg.ReceivingFacility)+"^SR")
	name := esc(p.Family) + "^" + esc(p.Given) + "^" + esc(p.Middle) + "^^^^L"
	mother := ""
	if p.MotherMaiden != "" {
		mother = esc(p.MotherMaiden) + "^^^^^^M"
	}
	r.w.seg("PID", strconv.Itoa(n), "", strings.Join(ids, "~"), "", name, mother, esc(p.DOB), esc(p.Sex),
		"", "", p.Address, "", p.Phone)
}

// obx writes one OBX; n counts OBX-1 within the current RXA.
func (r *rsp) obx(n *int, valueType, id string, sub int, value, units string) {
	*n++
	r.w.seg("OBX", strconv.Itoa(*n), valueType, id, strconv.Itoa(sub), value, units,
		"", "", "", "", "F", "", "", ymd(r.now))
}

const (
	obxVaccineType = "30956-7^Vaccine type^LN"
	obxSchedule    = "59779-9^Immunization schedule used^LN"
	obxDoseNumber  = "30973-2^Dose number in series^LN"
	obxSeriesDoses = "59782-3^Number of doses in primary series^LN"
	obxValidity    = "59781-5^Dose validity^LN"
	obxReason      = "30982-3^Reason applied by forecast logic to project this vaccine^LN"
	obxStatus      = "59783-1^Status in immunization series^LN"
	obxEarliest    = "30981-5^Earliest date to give^LN"
	obxDue         = "30980-7^Date vaccine due^LN"
	obxOverdue     = "59778-1^Date dose is overdue^LN"
	obxLatest      = "59777-3^Latest date next dose may be given^LN"
	acipSchedule   = "VXC16^ACIP^CDCPHINVS"
	noUnits        = "NA^^HL70353"
)

// groupCode returns the CE of a vaccine group: its CVX and name.
func groupCode(group string) string {
	cvx, _, _ := codes.GroupCVX(group)
	c, _ := codes.LookupCVX(cvx)
	return cwe(cvx, c.Short, "CVX")
}

// history writes the live doses of p, oldest first, each as ORC, RXA,
// (RXR) and, when evaluate is set, the evaluation OBXs.
func (r *rsp) history(p *patient, evaluate bool) {
	doses := make([]Dose, 0, len(p.Doses))
	for _, d := range p.Doses {
		if !d.Deleted {
			doses = append(doses, d)
		}
	}
	slices.SortStableFunc(doses, func(a, b Dose) int { return strings.Compare(a.Date, b.Date) })

	evals := map[string]map[string]evaluation{} // group -> dose ID -> evaluation
	dob, dobOK := parseDate(p.DOB)
	if evaluate && dobOK {
		for _, sr := range schedule {
			evals[sr.group], _, _ = sr.evaluate(day(dob), groupDoses(p.Doses, sr.group))
		}
	}
	fac := esc(r.s.cfg.ReceivingFacility)
	for _, d := range doses {
		filler := esc(d.ID) + "^" + fac
		if d.Completion == "RE" || d.Completion == "NA" {
			filler = "9999^" + fac // IZ-45
		}
		placer := ""
		if d.Facility == r.facility && d.PlacerID != "" {
			placer = esc(d.PlacerID)
		}
		r.w.seg("ORC", "RE", placer, filler)

		c, _ := codes.LookupCVX(d.CVX)
		amount, units := d.Amount, ""
		if amount == "" || amount == "999" {
			amount = "999"
		} else {
			units = "mL^mL^UCUM"
		}
		source := ""
		if d.administered() && d.Source != "" {
			t, _ := codes.TableText("NIP001", d.Source)
			source = cwe(d.Source, t, "NIP001")
		}
		mvx := ""
		if d.MVX != "" {
			m, _ := codes.LookupMVX(d.MVX)
			mvx = cwe(d.MVX, m.Name, "MVX")
		}
		refusal := ""
		if d.Completion == "RE" && d.RefusalReason != "" {
			t, _ := codes.TableText("NIP002", d.RefusalReason)
			refusal = cwe(d.RefusalReason, t, "NIP002")
		}
		completion := d.Completion
		if completion == "" {
			completion = "CP"
		}
		r.w.seg("RXA", "0", "1", esc(d.Date), esc(d.Date), cwe(d.CVX, c.Short, "CVX"), esc(amount), units, "",
			source, "", "", "", "", "", esc(d.Lot), "", mvx, refusal, "", esc(completion), "A")
		if d.Route != "" || d.Site != "" {
			rt, _ := codes.TableText("NCIT", d.Route)
			st, _ := codes.TableText("HL70163", d.Site)
			r.w.seg("RXR", cwe(d.Route, rt, "NCIT"), cwe(d.Site, st, "HL70163"))
		}
		if !evaluate {
			continue
		}
		// Z42 wants OBX under every RXA: per vaccine group (or, for a
		// product without one, the product itself) its type and schedule,
		// and for a dose given, the evaluation.
		groups := codes.Groups(d.CVX)
		n := 0
		if len(groups) == 0 {
			r.obx(&n, "CE", obxVaccineType, 1, cwe(d.CVX, c.Short, "CVX"), "")
			r.obx(&n, "CE", obxSchedule, 1, acipSchedule, "")
		}
		for sub, g := range groups {
			sub++
			r.obx(&n, "CE", obxVaccineType, sub, groupCode(g), "")
			r.obx(&n, "CE", obxSchedule, sub, acipSchedule, "")
			sr, known := seriesFor(g)
			ev, evaluated := evals[g][d.ID]
			if !known || !evaluated || !d.administered() {
				continue
			}
			if ev.valid && !sr.annual {
				r.obx(&n, "NM", obxDoseNumber, sub, strconv.Itoa(ev.number), noUnits)
				r.obx(&n, "NM", obxSeriesDoses, sub, strconv.Itoa(len(sr.doses)), noUnits)
			}
			validity := "N"
			if ev.valid {
				validity = "Y"
			}
			r.obx(&n, "ID", obxValidity, sub, validity, "")
			if !ev.valid {
				r.obx(&n, "ST", obxReason, sub, esc(ev.reason), "")
			}
		}
	}
}

// forecastBlock writes the forecast: one ORC and RXA 998 "no vaccine
// administered" (RXA-20 NA), then per vaccine group (OBX-4 1..n) its type,
// schedule, status, dose number and dates.
func (r *rsp) forecastBlock(p *patient) {
	today := day(ymd(r.now))
	fs := forecasts(p.Patient, today)
	if len(fs) == 0 {
		return
	}
	fac := esc(r.s.cfg.ReceivingFacility)
	c, _ := codes.LookupCVX("998")
	r.w.seg("ORC", "RE", "", "9999^"+fac)
	r.w.seg("RXA", "0", "1", ymd(today), ymd(today), cwe("998", c.Short, "CVX"), "999",
		"", "", "", "", "", "", "", "", "", "", "", "", "", "NA")
	n := 0
	for i, f := range fs {
		sub := i + 1
		r.obx(&n, "CE", obxVaccineType, sub, groupCode(f.group), "")
		r.obx(&n, "CE", obxSchedule, sub, acipSchedule, "")
		r.obx(&n, "CE", obxStatus, sub, f.status, "")
		if f.doseNumber > 0 {
			r.obx(&n, "NM", obxDoseNumber, sub, strconv.Itoa(f.doseNumber), noUnits)
		}
		for _, dt := range []struct{ id, v string }{
			{obxEarliest, f.earliest}, {obxDue, f.due}, {obxOverdue, f.overdue}, {obxLatest, f.latest},
		} {
			if dt.v != "" {
				r.obx(&n, "DT", dt.id, sub, dt.v, "")
			}
		}
	}
}

// query answers one QBP^Q11 with an RSP^K11: Z32 or Z42 for one patient,
// Z31 for a list of candidates, Z33 for none, too many, or a bad query.
func (s *IIS) query(m *hl7.Message, facility string, b Behaviour, now time.Time) []byte {
	r := &rsp{s: s, in: m, d: m.Delims(), facility: facility, now: now}
	qpd, hasQPD := m.Segment("QPD", 1)
	if !hasQPD {
		r.head("Z33", "AR", "AR", []hl7.ErrorDetail{{
			Location: hl7.Location{Segment: "QPD", Seq: 1}, Code: "100", CodeText: "Segment sequence error",
			Severity: 'E', AppCode: "7", AppCodeText: "Required data missing",
			UserMessage: "Query parameter segment (QPD) is missing - query rejected",
		}}, qpd, false)
		return r.w.b.Bytes()
	}
	name := strings.ToUpper(val(qpd.Field(1).Component(1)))
	if name != "Z34" && name != "Z44" {
		r.head("Z33", "AR", "AR", []hl7.ErrorDetail{notInTable(
			hl7.Location{Segment: "QPD", Seq: 1, Field: 1, Rep: 1, Component: 1}, 'E',
			"Query name not recognized - query rejected")}, qpd, true)
		return r.w.b.Bytes()
	}
	demo, rawDOB := queryDemographics(qpd, r.d)
	if errs := checkQuery(val(qpd.Field(2)), demo, rawDOB); len(errs) > 0 {
		r.head("Z33", "AE", "AE", errs, qpd, true)
		return r.w.b.Bytes()
	}
	limit := defaultCandidates
	if n, err := strconv.Atoi(m.Value("RCP-2.1")); err == nil && n > 0 {
		limit = min(n, maxCandidates)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.st.find(demo, facility)
	switch {
	case len(found) == 0:
		r.head("Z33", "AA", "NF", nil, qpd, true)
	case len(found) == 1:
		profile := "Z32"
		if name == "Z44" && !b.Z32ForZ44 {
			profile = "Z42"
		}
		msa, errs := "AA", []hl7.ErrorDetail(nil)
		if b.AEWithData {
			msa = "AE"
			errs = []hl7.ErrorDetail{{
				Location: hl7.Location{Segment: "QPD", Seq: 1}, Code: "999", CodeText: "Application error",
				Severity: 'W', AppCode: "8", AppCodeText: "Data was ignored",
				UserMessage: "Some query parameters were ignored - results returned",
			}}
		}
		r.head(profile, msa, "OK", errs, qpd, true)
		r.pid(1, found[0])
		r.history(found[0], profile == "Z42")
		if profile == "Z42" {
			r.forecastBlock(found[0])
		}
	case name == "Z34" && len(found) <= limit:
		r.head("Z31", "AA", "OK", nil, qpd, true)
		for i, p := range found {
			r.pid(i+1, p)
		}
	default:
		r.head("Z33", "AA", "TM", nil, qpd, true)
	}
	return r.w.b.Bytes()
}
