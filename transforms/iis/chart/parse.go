package chart

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// Sentinel errors. They never carry field values; wrapping errors add
// positions only ("PID[1]-3").
var (
	// ErrNoPatient means the message has no PID segment or no medical
	// record number in PID-3 (or, for VXU, the chart has no Key.MRN).
	ErrNoPatient = errors.New("chart: no patient identifier")
	// ErrOtherPatient means the message's Key (MSH-4.1 and MRN) is not the
	// chart's.
	ErrOtherPatient = errors.New("chart: message is for another patient")
	// ErrNotVXU means Apply was given a message whose MSH-9.1 is not VXU.
	ErrNotVXU = errors.New("chart: not a VXU message")
	// ErrAction means VXUOptions.Action is not "", "A", "U" or "D".
	ErrAction = errors.New("chart: VXU action must be A, U or D")
)

// NoVaccine is CVX 998, "no vaccine administered": the placeholder an RXA
// carries when it only reports observations (immunity, contraindication) or a
// registry's forecast.
const NoVaccine = "998"

// KeyOf returns the patient key of a message: MSH-4.1 and the medical record
// number (PID-3.1 of the first repetition typed MR in PID-3.5, else of the
// first repetition). It returns an error wrapping ErrNoPatient when the
// message has no PID or the MRN is empty.
func KeyOf(m *hl7.Message) (Key, error) {
	if m == nil {
		return Key{}, fmt.Errorf("PID: %w", ErrNoPatient)
	}
	pid, ok := m.Segment("PID", 1)
	if !ok {
		return Key{}, fmt.Errorf("PID: %w", ErrNoPatient)
	}
	mrn := mrnOf(pid)
	if mrn == "" {
		return Key{}, fmt.Errorf("PID[1]-3: %w", ErrNoPatient)
	}
	msh, _ := m.Segment("MSH", 1)
	return Key{Facility: sub(msh.Field(4), 1), MRN: mrn}, nil
}

// mrnOf returns PID-3.1 of the repetition typed MR, else of the first
// repetition.
func mrnOf(pid hl7.Segment) string {
	f := pid.Field(3)
	for rep := range f.Repetitions() {
		if strings.EqualFold(sub(rep, 5), "MR") {
			if id := sub(rep, 1); id != "" {
				return id
			}
		}
	}
	return sub(f, 1)
}

// RegistryIDOf returns the registry's patient ID: PID-3.1 of the first
// repetition whose identifier type (PID-3.5) is SR, or "" when there is none.
func RegistryIDOf(pid hl7.Segment) string {
	for rep := range pid.Field(3).Repetitions() {
		if strings.EqualFold(sub(rep, 5), "SR") {
			if id := sub(rep, 1); id != "" {
				return id
			}
		}
	}
	return ""
}

// ParseDemographics reads the Demographics of one patient from its PID, PD1
// and first NK1 segments, field by field as the Demographics comments say.
// pd1 and nk1 may be zero Segments (absent): their fields are then empty.
// PID-5 is the repetition of name type L (legal), else the first; PID-11 and
// PID-13 use their first usable repetition (a phone is the first repetition
// that is not an e-mail address: XTN.6 + XTN.7 digits, else XTN.1 digits).
// Values are escape-decoded and trimmed of surrounding spaces.
func ParseDemographics(pid, pd1, nk1 hl7.Segment) Demographics {
	var p Demographics
	name := pid.Field(5)
	for rep := range name.Repetitions() {
		if strings.EqualFold(sub(rep, 7), "L") {
			name = rep
			break
		}
	}
	p.Family, p.Given, p.Middle, p.Suffix = sub(name, 1), sub(name, 2), sub(name, 3), sub(name, 4)
	mother := pid.Field(6)
	p.MotherMaiden, p.MotherGiven = sub(mother, 1), sub(mother, 2)
	p.BirthDate = digits8(sub(pid.Field(7), 1))
	p.Sex = sub(pid.Field(8), 1)
	p.Race = sub(pid.Field(10), 1)
	addr := pid.Field(11)
	p.Street, p.City, p.State, p.Zip, p.Country = sub(addr, 1), sub(addr, 3), sub(addr, 4), sub(addr, 5), sub(addr, 6)
	p.Phone = phoneOf(pid.Field(13))
	p.Ethnicity = sub(pid.Field(22), 1)
	p.MultipleBirth = sub(pid.Field(24), 1)
	p.BirthOrder = sub(pid.Field(25), 1)

	p.Publicity = sub(pd1.Field(11), 1)
	p.Protection = sub(pd1.Field(12), 1)
	p.RegistryStatus = sub(pd1.Field(16), 1)

	p.GuardianFamily, p.GuardianGiven = sub(nk1.Field(2), 1), sub(nk1.Field(2), 2)
	p.GuardianRelation = sub(nk1.Field(3), 1)
	return p
}

// phoneOf returns the digits of the first telephone repetition of an XTN
// field that is not an e-mail or internet address.
func phoneOf(f hl7.Field) string {
	for rep := range f.Repetitions() {
		if strings.EqualFold(sub(rep, 2), "NET") || strings.EqualFold(sub(rep, 3), "Internet") ||
			strings.EqualFold(sub(rep, 3), "X.400") {
			continue
		}
		if n := onlyDigits(sub(rep, 6)) + onlyDigits(sub(rep, 7)); n != "" {
			return n
		}
		if n := onlyDigits(sub(rep, 1)); n != "" {
			return n
		}
	}
	return ""
}

// ParseDose reads one ORC/RXA group: orc (may be a zero Segment), its RXA,
// its RXR (may be zero) and the OBX segments that follow the RXA. It returns
// the Dose as the group states it (see the Dose field comments) and the
// Indicators the group carries:
//
//   - OBX 59784-9 (disease with presumed immunity) and 75505-8 (serological
//     evidence of immunity) give Immunity, OBX 30945-0 gives
//     Contraindication; Code, Text and System are OBX-5.1/.2/.3 and Date is
//     OBX-14, else RXA-3;
//   - RXA-20 RE gives a Refusal (Code, Text and System from RXA-18);
//
// each with the dose's CVX and its vaccine groups (none for CVX 998).
// OBX 64994-7 (else 30963-3) gives Funding, 31044-1 Reactions, 59781-5
// Valid.
//
// The ID is ORC-3.1, else ORC-2.1, else the synthetic "rxa:<date>:<cvx>"
// ("rxa:<date>:<ndc>" without a CVX); ORC-3 "9999", the placeholder the CDC
// guide requires for refused and not administered doses, counts as empty.
// ParseDose sees one group only: a caller that reads several must make IDs
// unique itself (Apply falls back to the synthetic ID, numbered
// "rxa:<date>:<cvx>:2" onwards, when an order number repeats in a message).
//
// Whether the dose belongs in Chart.Doses is d.Event(): a refusal, a not
// administered row or a CVX 998 row contributes only its indicators.
func ParseDose(orc, rxa, rxr hl7.Segment, obx []hl7.Segment) (Dose, []Indicator) {
	var d Dose
	d.ID = orderID(orc.Field(3))
	if d.ID == "" {
		d.ID = orderID(orc.Field(2))
	}
	d.Date = digits8(sub(rxa.Field(3), 1))
	d.CVX, d.NDC, d.Text = vaccineOf(rxa.Field(5))
	if d.ID == "" {
		d.ID = syntheticID(d)
	}
	d.Amount = sub(rxa.Field(6), 1)
	d.Units = sub(rxa.Field(7), 1)
	d.Source = sourceOf(rxa.Field(9))
	d.Facility = sub(rxa.Field(11), 4)
	d.Lot = sub(rxa.Field(15), 1)
	d.Expiry = digits8(sub(rxa.Field(16), 1))
	d.MVX = sub(rxa.Field(17), 1)
	d.Completion = strings.ToUpper(sub(rxa.Field(20), 1))
	if d.Completion == "RE" {
		d.Refusal = sub(rxa.Field(18), 1)
	}
	d.Route = sub(rxr.Field(1), 1)
	d.Site = sub(rxr.Field(2), 1)

	cvx := d.CVX
	var groups []string
	if CanonCVX(cvx) == NoVaccine {
		cvx = ""
	} else if cvx != "" {
		groups = codes.Groups(cvx)
	}
	var ins []Indicator
	if d.Completion == "RE" {
		f := rxa.Field(18)
		ins = append(ins, Indicator{
			Kind: Refusal, Code: sub(f, 1), Text: sub(f, 2), System: sub(f, 3),
			CVX: cvx, Groups: groups, Date: d.Date,
		})
	}
	var vfc, source string
	for _, o := range obx {
		v := o.Field(5)
		switch sub(o.Field(3), 1) {
		case "64994-7":
			if vfc == "" {
				vfc = sub(v, 1)
			}
		case "30963-3":
			if source == "" {
				source = sub(v, 1)
			}
		case "31044-1":
			if r := sub(v, 1); r != "" && !slices.Contains(d.Reactions, r) {
				d.Reactions = append(d.Reactions, r)
			}
		case "59781-5":
			d.Valid = strings.ToUpper(sub(v, 1))
		case "59784-9", "75505-8":
			ins = appendObs(ins, Immunity, o, cvx, groups, d.Date)
		case "30945-0":
			ins = appendObs(ins, Contraindication, o, cvx, groups, d.Date)
		}
	}
	d.Funding = vfc
	if d.Funding == "" {
		d.Funding = source
	}
	return d, ins
}

// appendObs appends the indicator an observation states, unless its value is
// empty.
func appendObs(ins []Indicator, k IndicatorKind, o hl7.Segment, cvx string, groups []string, date string) []Indicator {
	v := o.Field(5)
	in := Indicator{
		Kind: k, Code: sub(v, 1), Text: sub(v, 2), System: sub(v, 3),
		CVX: cvx, Groups: groups, Date: digits8(sub(o.Field(14), 1)),
	}
	if in.Code == "" {
		return ins
	}
	if in.Date == "" {
		in.Date = date
	}
	return append(ins, in)
}

// orderID returns EI.1 of an order number, "" for the 9999 placeholder.
func orderID(f hl7.Field) string {
	id := sub(f, 1)
	if id == "9999" {
		return ""
	}
	return id
}

// syntheticID names a dose that has no order number.
func syntheticID(d Dose) string {
	v := d.CVX
	if v == "" {
		v = d.NDC
	}
	return "rxa:" + d.Date + ":" + v
}

// vaccineOf reads RXA-5: the CVX (first triplet coded CVX, else second,
// else an uncoded 1-3 digit first code, else the NDC's CVX), the NDC (either
// triplet coded NDC) and the text (RXA-5.2, else RXA-5.5).
func vaccineOf(f hl7.Field) (cvx, ndc, text string) {
	c1, s1, c2, s2 := sub(f, 1), sub(f, 3), sub(f, 4), sub(f, 6)
	switch {
	case isCVXSystem(s1):
		cvx = c1
	case isCVXSystem(s2):
		cvx = c2
	case s1 == "" && len(c1) <= 3 && onlyDigits(c1) == c1:
		cvx = c1
	}
	switch {
	case strings.EqualFold(s1, "NDC"):
		ndc = c1
	case strings.EqualFold(s2, "NDC"):
		ndc = c2
	}
	if cvx == "" && ndc != "" {
		cvx, _ = codes.LookupNDC(ndc)
	}
	text = sub(f, 2)
	if text == "" {
		text = sub(f, 5)
	}
	return cvx, ndc, text
}

// isCVXSystem reports whether a coding system name means CVX (HL70292 is
// the HL7 table number of CVX, still sent by older systems).
func isCVXSystem(s string) bool {
	return strings.EqualFold(s, "CVX") || strings.EqualFold(s, "HL70292")
}

// sourceOf returns RXA-9.1 of the repetition coded NIP001, else of the first.
func sourceOf(f hl7.Field) string {
	for rep := range f.Repetitions() {
		if strings.EqualFold(sub(rep, 3), "NIP001") {
			return sub(rep, 1)
		}
	}
	return sub(f, 1)
}

// sub returns sub-component 1 of component n of f (of its first repetition
// when f is a whole field), escape-decoded and trimmed.
func sub(f hl7.Field, n int) string {
	return strings.TrimSpace(f.SubComponent(n, 1))
}

// digits8 returns the leading digits of s, at most 8: the date of a DT or TS.
func digits8(s string) string {
	i := 0
	for i < len(s) && i < 8 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// onlyDigits returns the ASCII digits of s.
func onlyDigits(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// CanonCVX returns the canonical spelling of a CVX code, so that "08", "8"
// and " 008" compare equal: CDC's code when the table has it
// (codes.LookupCVX, "8" gives "08"), else an all-digit code without its
// leading zeros, else the code trimmed and upper-cased; "" for "".
func CanonCVX(s string) string {
	s = strings.TrimSpace(s)
	if c, ok := codes.CVXCode(s); ok {
		return c
	}
	if s != "" && onlyDigits(s) == s {
		if t := strings.TrimLeft(s, "0"); t != "" {
			return t
		}
		return "0"
	}
	return strings.ToUpper(s)
}

// ParseTime reads an HL7 DTM/TS value leniently:
// YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]. Without an offset the time is
// taken as UTC (the sender's zone is unknown). The result is in UTC; it is
// the zero Time when s does not parse or names an impossible date.
func ParseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	zone := ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		s, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
	}
	if len(s) < 4 || len(s) > 14 || len(s)%2 != 0 || onlyDigits(s) != s || onlyDigits(frac) != frac {
		return time.Time{}
	}
	if frac != "" && len(s) != 14 {
		return time.Time{}
	}
	num := func(i, j int, def int) int {
		if j > len(s) {
			return def
		}
		n := 0
		for _, c := range s[i:j] {
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, mo, d := num(0, 4, 0), num(4, 6, 1), num(6, 8, 1)
	h, mi, sec := num(8, 10, 0), num(10, 12, 0), num(12, 14, 0)
	ns := 0
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		for i := range 9 {
			ns *= 10
			if i < len(frac) {
				ns += int(frac[i] - '0')
			}
		}
	}
	loc := time.UTC
	if zone != "" {
		if len(zone) != 5 || onlyDigits(zone[1:]) != zone[1:] {
			return time.Time{}
		}
		zh, zm := int(zone[1]-'0')*10+int(zone[2]-'0'), int(zone[3]-'0')*10+int(zone[4]-'0')
		if zh > 14 || zm > 59 {
			return time.Time{}
		}
		off := (zh*60 + zm) * 60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d || t.Hour() != h || t.Minute() != mi || t.Second() != sec {
		return time.Time{}
	}
	return t.UTC()
}
