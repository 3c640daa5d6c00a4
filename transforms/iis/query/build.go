package query

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/chart"
)

// The query profiles (MSH-21.1 and QPD-1.1 of a QBP).
const (
	// ProfileZ44 asks for the evaluated history and forecast (answered by
	// Z42, or by Z32 at registries that do not evaluate).
	ProfileZ44 = "Z44"
	// ProfileZ34 asks for the immunization history (answered by Z32).
	ProfileZ34 = "Z34"
)

// DefaultMaxCandidates is RCP-2 when Request.MaxCandidates is not set.
const DefaultMaxCandidates = 10

// Sentinel errors of Build. Compare them with errors.Is; none of them
// carries a field value.
var (
	// ErrNoChart means the request has no chart to query for.
	ErrNoChart = errors.New("query: request has no chart")
	// ErrNoName means the patient's family or given name is empty;
	// registries answer such a query with AE.
	ErrNoName = errors.New("query: patient family or given name missing")
	// ErrNoBirthDate means the patient's birth date is empty or not a valid
	// YYYYMMDD date; registries answer such a query with AE.
	ErrNoBirthDate = errors.New("query: patient birth date missing or not YYYYMMDD")
	// ErrNoControlID means Request.ControlID is empty. The caller must know
	// it to match the answer's MSA-2.
	ErrNoControlID = errors.New("query: control id missing")
	// ErrProfile means Request.Profile is neither Z44 nor Z34.
	ErrProfile = errors.New("query: profile must be Z44 or Z34")
)

// Request is one query for one patient. Chart, ControlID and the patient's
// family name, given name and birth date are required. The other fields
// have defaults.
type Request struct {
	// Chart is the local chart of the patient. The query uses Key.MRN,
	// RegistryID and Patient.
	Chart *chart.Chart
	// Profile is "Z44" (evaluated history and forecast) or "Z34" (history).
	// Default: Z44.
	Profile string
	// QueryTag is QPD-2, which the registry echoes in QAK-1. Default:
	// ControlID.
	QueryTag string
	// ControlID is MSH-10, which the registry echoes in MSA-2. Required.
	ControlID string
	// SendingApp and SendingFacility are MSH-3 and MSH-4. SendingFacility
	// is also the assigning authority of the MRN in QPD-3. Default for
	// SendingFacility: Chart.Key.Facility.
	SendingApp, SendingFacility string
	// ReceivingApp and ReceivingFacility are MSH-5 and MSH-6. The registry
	// ID in QPD-3 is assigned by ReceivingFacility, or by ReceivingApp when
	// ReceivingFacility is empty.
	ReceivingApp, ReceivingFacility string
	// ProcessingID is MSH-11: "P" production, "T" training, "D" debugging.
	// Default: P.
	ProcessingID string
	// Time is MSH-7. Default: time.Now().
	Time time.Time
	// MaxCandidates is RCP-2, the most candidates the registry should list.
	// Default: DefaultMaxCandidates (10).
	MaxCandidates int
}

// profile returns the request's profile, upper-cased, with its default.
func (r *Request) profile() string {
	if r == nil || strings.TrimSpace(r.Profile) == "" {
		return ProfileZ44
	}
	return strings.ToUpper(strings.TrimSpace(r.Profile))
}

// String describes the request without PHI: its profile and control ID.
func (r Request) String() string {
	return "qbp " + r.profile() + " control_id=" + r.ControlID
}

// GoString returns String, so %#v does not dump the chart.
func (r Request) GoString() string { return r.String() }

// Format writes String for every verb.
func (r Request) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// queryNames are QPD-1 (and QAK-3) of each profile.
var queryNames = map[string]string{
	ProfileZ44: "Z44^Request Evaluated History and Forecast^CDCPHINVS",
	ProfileZ34: "Z34^Request Immunization History^CDCPHINVS",
}

// Build writes the QBP^Q11^QBP_Q11 of r: MSH, QPD and RCP with CR
// terminators and the standard delimiters. Values are escaped. It reports
// every problem at once (errors.Join of the sentinels above).
func Build(r Request) ([]byte, error) {
	if r.Chart == nil {
		return nil, ErrNoChart
	}
	p := r.Chart.Patient
	profile := r.profile()
	var errs []error
	if _, ok := queryNames[profile]; !ok {
		errs = append(errs, ErrProfile)
	}
	if r.ControlID == "" {
		errs = append(errs, ErrNoControlID)
	}
	if strings.TrimSpace(p.Family) == "" || strings.TrimSpace(p.Given) == "" {
		errs = append(errs, ErrNoName)
	}
	dob := date8(p.BirthDate)
	if dob == "" {
		errs = append(errs, ErrNoBirthDate)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	e := func(s string) string { return hl7.Escape(s, hl7.Standard) }
	facility := r.SendingFacility
	if facility == "" {
		facility = r.Chart.Key.Facility
	}
	tag := r.QueryTag
	if tag == "" {
		tag = r.ControlID
	}
	now := r.Time
	if now.IsZero() {
		now = time.Now()
	}
	proc := r.ProcessingID
	if proc == "" {
		proc = "P"
	}
	limit := r.MaxCandidates
	if limit <= 0 {
		limit = DefaultMaxCandidates
	}

	// QPD-3: the EHR's MRN, then the registry's ID when known.
	var ids []string
	if mrn := r.Chart.Key.MRN; mrn != "" {
		ids = append(ids, e(mrn)+"^^^"+e(facility)+"^MR")
	}
	if rid := r.Chart.RegistryID; rid != "" {
		auth := r.ReceivingFacility
		if auth == "" {
			auth = r.ReceivingApp
		}
		ids = append(ids, e(rid)+"^^^"+e(auth)+"^SR")
	}
	name := join("^", e(p.Family), e(p.Given), e(p.Middle), e(p.Suffix), "", "", "L")
	mother := ""
	if p.MotherMaiden != "" {
		mother = join("^", e(p.MotherMaiden), e(p.MotherGiven), "", "", "", "", "M")
	}
	address := ""
	if p.Street != "" || p.City != "" || p.State != "" || p.Zip != "" || p.Country != "" {
		address = join("^", e(p.Street), "", e(p.City), e(p.State), e(p.Zip), e(p.Country), "L")
	}
	phone := ""
	if area, local := splitPhone(p.Phone); local != "" {
		phone = join("^", "", "PRN", "PH", "", "", area, local)
	}

	var b strings.Builder
	segment(&b, "MSH", `^~\&`, e(r.SendingApp), e(facility), e(r.ReceivingApp), e(r.ReceivingFacility),
		now.Format("20060102150405-0700"), "", "QBP^Q11^QBP_Q11", e(r.ControlID), e(proc), "2.5.1",
		"", "", "ER", "AL", "", "", "", "", profile+"^CDCPHINVS")
	segment(&b, "QPD", queryNames[profile], e(tag), strings.Join(ids, "~"), name, mother, dob,
		e(strings.ToUpper(p.Sex)), address, phone, e(p.MultipleBirth), e(p.BirthOrder))
	segment(&b, "RCP", "I", strconv.Itoa(limit)+"^RD&Records&HL70126", "R^Real Time^HL70394")
	return []byte(b.String()), nil
}

// segment writes one segment and its CR, without trailing empty fields.
func segment(b *strings.Builder, name string, fields ...string) {
	for len(fields) > 0 && fields[len(fields)-1] == "" {
		fields = fields[:len(fields)-1]
	}
	b.WriteString(name)
	for _, f := range fields {
		b.WriteByte('|')
		b.WriteString(f)
	}
	b.WriteByte('\r')
}

// join joins components with sep, without trailing empty components.
func join(sep string, parts ...string) string {
	last := len(parts)
	for last > 0 && parts[last-1] == "" {
		last--
	}
	return strings.Join(parts[:last], sep)
}

// splitPhone splits a phone number (digits, as chart stores it; other
// characters are dropped) into area code and local number: 10 digits (or 11
// starting with the country code 1) have an area code, 7 digits do not, any
// other length is kept whole as the local number.
func splitPhone(s string) (area, local string) {
	d := digitsOnly(s)
	if len(d) == 11 && d[0] == '1' {
		d = d[1:]
	}
	if len(d) == 10 {
		return d[:3], d[3:]
	}
	return "", d
}

func digitsOnly(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// date8 returns the YYYYMMDD that starts s (a DT or TS value), or "" when s
// does not start with a valid date.
func date8(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 8 {
		return ""
	}
	if _, err := time.Parse("20060102", s[:8]); err != nil {
		return ""
	}
	return s[:8]
}
