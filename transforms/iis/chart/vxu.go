package chart

import (
	"fmt"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// VXUOptions tunes VXU. The zero value is usable.
type VXUOptions struct {
	// SendingApp and SendingFacility are MSH-3 and MSH-4; ReceivingApp and
	// ReceivingFacility MSH-5 and MSH-6. SendingFacility defaults to the
	// chart's Key.Facility (so that KeyOf of the result is the chart's Key);
	// SendingApp also goes in ORC-3.2.
	SendingApp, SendingFacility     string
	ReceivingApp, ReceivingFacility string
	// ControlID is MSH-10. Default: derived from Time (YYYYMMDDHHMMSS plus
	// microseconds, 20 digits).
	ControlID string
	// Time is MSH-7. Default: time.Now().
	Time time.Time
	// Action is RXA-21 of every dose: "A" (add, the default), "U" (update)
	// or "D" (delete).
	Action string
	// Source, when not empty, replaces RXA-9.1 of every dose (e.g. "05",
	// historical from another registry, for imports); RXA-9.2 is its NIP001
	// text.
	Source string
	// IncludeRegistryID adds a PID-3 repetition ^^^^SR with c.RegistryID
	// (when it is not empty).
	IncludeRegistryID bool
}

// fundingSources are the CDCPHINVS codes of OBX 30963-3 (vaccine funding
// source); any other Funding is a VFC eligibility (OBX 64994-7, HL70064).
var fundingSources = map[string]bool{"PHC70": true, "VXC50": true, "VXC51": true, "VXC52": true}

// VXU builds one VXU^V04^VXU_V04 (CDC profile Z22, HL7 2.5.1, standard
// delimiters, segments ended by CR) for c's patient with the given doses, as
// the Sync Registry actions send them: MSH, PID (MRN typed MR with
// Key.Facility as assigning authority, plus the SR registry ID when asked),
// PD1 when a PD1 field is set, NK1 when a guardian is set, then per dose
// ORC, RXA, RXR (when route or site is set) and, for an administered dose
// that was given, an OBX with its Funding (64994-7, or 30963-3 for a
// funding source code).
//
// Empty fields get the guide's defaults: RXA-6 999, RXA-20 CP. A refused or
// not administered dose gets ORC-3 9999, RXA-6 999, no RXA-9, and RXA-18
// (NIP002) for a refusal. Every value is escaped with hl7.Escape, so the
// result always parses. Apply of the result to an empty chart gives the
// chart's Key (with the default SendingFacility), its Demographics and the
// given doses (Event doses only), IDs included.
//
// It returns an error wrapping ErrNoPatient when c has no Key.MRN, and
// ErrAction for an unknown Action.
func VXU(c *Chart, doses []Dose, o VXUOptions) ([]byte, error) {
	if c == nil || c.Key.MRN == "" {
		return nil, fmt.Errorf("PID-3: %w", ErrNoPatient)
	}
	action := strings.ToUpper(o.Action)
	switch action {
	case "":
		action = "A"
	case "A", "U", "D":
	default:
		return nil, ErrAction
	}
	at := o.Time
	if at.IsZero() {
		at = time.Now()
	}
	ctrl := o.ControlID
	if ctrl == "" {
		ctrl = at.UTC().Format("20060102150405") + fmt.Sprintf("%06d", at.Nanosecond()/1000)
	}
	fac := o.SendingFacility
	if fac == "" {
		fac = c.Key.Facility
	}

	var b strings.Builder
	seg := func(fields ...string) {
		n := len(fields)
		for n > 1 && fields[n-1] == "" {
			n--
		}
		b.WriteString(strings.Join(fields[:n], "|"))
		b.WriteByte('\r')
	}

	seg("MSH", `^~\&`, esc(o.SendingApp), esc(fac), esc(o.ReceivingApp), esc(o.ReceivingFacility),
		at.Format("20060102150405-0700"), "", "VXU^V04^VXU_V04", esc(ctrl), "P", "2.5.1",
		"", "", "ER", "AL", "", "", "", "", "Z22^CDCPHINVS")

	p := c.Patient
	pid := make([]string, 26)
	pid[0], pid[1] = "PID", "1"
	pid[3] = esc(c.Key.MRN) + "^^^" + esc(c.Key.Facility) + "^MR"
	if o.IncludeRegistryID && c.RegistryID != "" {
		pid[3] += "~" + esc(c.RegistryID) + "^^^^SR"
	}
	if comps(p.Family, p.Given, p.Middle, p.Suffix) != "" {
		pid[5] = comps(p.Family, p.Given, p.Middle, p.Suffix, "", "", "L")
	}
	if p.MotherMaiden != "" || p.MotherGiven != "" {
		pid[6] = comps(p.MotherMaiden, p.MotherGiven, "", "", "", "", "M")
	}
	pid[7] = esc(p.BirthDate)
	pid[8] = esc(p.Sex)
	pid[10] = coded(p.Race, "", "CDCREC")
	if comps(p.Street, p.City, p.State, p.Zip, p.Country) != "" {
		pid[11] = comps(p.Street, "", p.City, p.State, p.Zip, p.Country, "P")
	}
	switch ph := p.Phone; {
	case len(ph) == 10 && onlyDigits(ph) == ph:
		pid[13] = "^PRN^PH^^^" + ph[:3] + "^" + ph[3:]
	case ph != "":
		pid[13] = "^PRN^PH^^^^" + esc(ph)
	}
	pid[22] = coded(p.Ethnicity, "", "CDCREC")
	pid[24] = esc(p.MultipleBirth)
	pid[25] = esc(p.BirthOrder)
	seg(pid...)

	if p.Publicity != "" || p.Protection != "" || p.RegistryStatus != "" {
		pd1 := make([]string, 17)
		pd1[0] = "PD1"
		pd1[11] = coded(p.Publicity, "", "HL70215")
		pd1[12] = esc(p.Protection)
		pd1[16] = esc(p.RegistryStatus)
		seg(pd1...)
	}
	if p.GuardianFamily != "" || p.GuardianGiven != "" || p.GuardianRelation != "" {
		name := ""
		if p.GuardianFamily != "" || p.GuardianGiven != "" {
			name = comps(p.GuardianFamily, p.GuardianGiven, "", "", "", "", "L")
		}
		seg("NK1", "1", name, coded(p.GuardianRelation, "", "HL70063"))
	}

	for _, d := range doses {
		writeDose(seg, d, o, action)
	}
	return []byte(b.String()), nil
}

// writeDose writes the ORC, RXA, RXR and OBX of one dose.
func writeDose(seg func(...string), d Dose, o VXUOptions, action string) {
	given := d.Given()
	id := d.ID
	if !given {
		id = "9999"
	}
	orc3 := esc(id)
	if orc3 != "" && o.SendingApp != "" {
		orc3 += "^" + esc(o.SendingApp)
	}
	seg("ORC", "RE", "", orc3)

	rxa := make([]string, 22)
	rxa[0], rxa[1], rxa[2] = "RXA", "0", "1"
	rxa[3], rxa[4] = esc(d.Date), esc(d.Date)
	text := d.Text
	if text == "" {
		if v, ok := codes.LookupCVX(d.CVX); ok {
			text = v.Short
		}
	}
	switch {
	case d.CVX != "":
		rxa[5] = coded(d.CVX, text, "CVX")
		if d.NDC != "" {
			rxa[5] += "^" + coded(d.NDC, "", "NDC")
		}
	case d.NDC != "":
		rxa[5] = coded(d.NDC, text, "NDC")
	}
	rxa[6] = d.Amount
	if rxa[6] == "" || d.Completion == "RE" {
		rxa[6] = "999"
	}
	rxa[6] = esc(rxa[6])
	if d.Units != "" {
		rxa[7] = coded(d.Units, d.Units, "UCUM")
	}
	src := d.Source
	if o.Source != "" {
		src = o.Source
	}
	if given && src != "" {
		t, _ := codes.TableText("NIP001", src)
		rxa[9] = coded(src, t, "NIP001")
	}
	if d.Facility != "" {
		rxa[11] = "^^^" + esc(d.Facility)
	}
	rxa[15] = esc(d.Lot)
	rxa[16] = esc(d.Expiry)
	if d.MVX != "" {
		name := ""
		if m, ok := codes.LookupMVX(d.MVX); ok {
			name = m.Name
		}
		rxa[17] = coded(d.MVX, name, "MVX")
	}
	if d.Completion == "RE" && d.Refusal != "" {
		t, _ := codes.TableText("NIP002", d.Refusal)
		rxa[18] = coded(d.Refusal, t, "NIP002")
	}
	rxa[20] = esc(d.Completion)
	if rxa[20] == "" {
		rxa[20] = "CP"
	}
	rxa[21] = action
	seg(rxa...)

	if d.Route != "" || d.Site != "" {
		rt, _ := codes.TableText("NCIT", d.Route)
		st, _ := codes.TableText("HL70163", d.Site)
		seg("RXR", coded(d.Route, rt, "NCIT"), coded(d.Site, st, "HL70163"))
	}
	if d.Funding != "" && given && (src == "" || src == "00") {
		if fundingSources[strings.ToUpper(d.Funding)] {
			seg("OBX", "1", "CE", "30963-3^Vaccine funding source^LN", "1", coded(d.Funding, "", "CDCPHINVS"),
				"", "", "", "", "", "F", "", "", esc(d.Date))
		} else {
			t, _ := codes.TableText("HL70064", d.Funding)
			seg("OBX", "1", "CE", "64994-7^Vaccine funding program eligibility category^LN", "1",
				coded(d.Funding, t, "HL70064"), "", "", "", "", "", "F", "", "", esc(d.Date),
				"", "", "VXC40^per immunization^CDCPHINVS")
		}
	}
}

// esc escapes a leaf value for the standard delimiters.
func esc(s string) string { return hl7.Escape(s, hl7.Standard) }

// comps joins escaped components, dropping trailing empty ones; "" when all
// are empty.
func comps(v ...string) string {
	n := len(v)
	for n > 0 && v[n-1] == "" {
		n--
	}
	out := make([]string, n)
	for i := range n {
		out[i] = esc(v[i])
	}
	return strings.Join(out, "^")
}

// coded writes code^text^system, or "" when code is empty.
func coded(code, text, system string) string {
	if code == "" {
		return ""
	}
	return esc(code) + "^" + esc(text) + "^" + system
}
