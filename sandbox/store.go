package sandbox

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/iis/codes"
)

// Patient is a registry patient as Patients returns it. Its fields are PHI
// (synthetic in tests and demos, but treat them as PHI): never log them.
type Patient struct {
	// ID is the registry's own identifier ("SB" and 7 digits), returned in
	// PID-3 with identifier type SR.
	ID string
	// MRNs are the medical record numbers facilities reported (PID-3
	// repetitions other than SR), in the order first seen.
	MRNs []string
	// Family, Given and Middle are PID-5.1.1, PID-5.2 and PID-5.3;
	// MotherMaiden is PID-6.1.1; Sex is PID-8 (F, M, U, X); DOB is PID-7
	// as YYYYMMDD.
	Family, Given, Middle, MotherMaiden, Sex, DOB string
	// Address and Phone are PID-11 and PID-13 in HL7 wire form with the
	// standard delimiters (components "^", repetitions "~"), e.g.
	// "1 Main St^^Bozeman^MT^59715^USA^P".
	Address, Phone string
	// Doses is the history, in the order reported.
	Doses []Dose
	// Facility is the facility (SOAP facilityID, else MSH-4.1) that first
	// reported the patient.
	Facility string
}

// Dose is one vaccination event (administered, historical, refused or not
// administered) in a patient's history.
type Dose struct {
	// ID is the registry's dose ID ("SBD" and 7 digits), returned in ORC-3.
	ID string
	// CVX is the vaccine code as CDC writes it ("08"); an NDC received in
	// RXA-5 is stored as its CVX. Date is RXA-3 as YYYYMMDD; Lot is
	// RXA-15; MVX is RXA-17.1 (empty when the code was not recognised).
	CVX, Date, Lot, MVX string
	// Source is RXA-9.1 (NIP001): "00" administered by the reporting
	// provider, "01".."08" historical; empty when not given.
	Source string
	// Facility is the facility that reported the dose.
	Facility string
	// Deleted is set by an RXA-21 D (delete) for this dose.
	Deleted bool
	// Refusal is set when RXA-20 is RE (the vaccine was refused).
	Refusal bool
	// Amount is RXA-6 in mL ("999" or empty when unknown).
	Amount string
	// Completion is RXA-20 (HL7 0322): CP, PA, RE or NA.
	Completion string
	// RefusalReason is RXA-18.1 (NIP002) of a refusal.
	RefusalReason string
	// PlacerID and FillerID are ORC-2.1 and ORC-3.1 as the facility sent
	// them (FillerID empty when it was the 9999 placeholder); an update or
	// delete may name the dose by either, or by its registry ID in ORC-3.
	PlacerID, FillerID string
	// Route and Site are RXR-1.1 (NCIT) and RXR-2.1 (HL7 0163).
	Route, Site string
}

// administered reports whether the dose counts as given (not refused, not
// "not administered", not deleted).
func (d Dose) administered() bool {
	if d.Deleted || d.Refusal {
		return false
	}
	switch d.Completion {
	case "", "CP", "PA":
		return true
	}
	return false
}

// mrn is a medical record number with the facility that reported it:
// MRNs are only unique within a facility.
type mrn struct {
	id, authority, facility string
}

// patient is the stored form of a Patient.
type patient struct {
	Patient
	mrns []mrn
	seq  int // creation order in the store
}

// export returns a deep copy for callers outside the lock.
func (p *patient) export() Patient {
	out := p.Patient
	out.MRNs = make([]string, 0, len(p.mrns))
	for _, m := range p.mrns {
		out.MRNs = append(out.MRNs, m.id)
	}
	out.Doses = slices.Clone(p.Doses)
	return out
}

// hasMRN reports whether facility reported id for p.
func (p *patient) hasMRN(id, facility string) bool {
	return slices.ContainsFunc(p.mrns, func(m mrn) bool { return m.id == id && m.facility == facility })
}

// addMRN records m for a patient not yet in the store (add indexes it).
func (p *patient) addMRN(m mrn) {
	if m.id != "" && !p.hasMRN(m.id, m.facility) {
		p.mrns = append(p.mrns, m)
	}
}

// store is the registry's data. It is guarded by IIS.mu.
type store struct {
	patients    []*patient
	byID        map[string]*patient
	byMRNKey    map[mrnKey][]*patient // facility + MRN → patients, in creation order
	byDemo      map[string][]*patient // demoKey → patients, in creation order
	nextPatient int
	nextDose    int
}

// mrnKey indexes an MRN as reported by one facility.
type mrnKey struct{ facility, id string }

func newStore() *store {
	return &store{byID: map[string]*patient{}, byMRNKey: map[mrnKey][]*patient{}, byDemo: map[string][]*patient{}}
}

// addMRN records m for p and indexes it.
func (st *store) addMRN(p *patient, m mrn) {
	if m.id == "" || p.hasMRN(m.id, m.facility) {
		return
	}
	p.mrns = append(p.mrns, m)
	k := mrnKey{m.facility, m.id}
	st.byMRNKey[k] = insertBySeq(st.byMRNKey[k], p)
}

// demoKey indexes a patient by birth date and family name, the two
// demographics every match needs.
func demoKey(dob, family string) string { return dob + "\x00" + strings.ToLower(family) }

// setDemographics sets p's family name and birth date (non-empty values
// only) and moves p in the demographics index.
func (st *store) setDemographics(p *patient, family, dob string) {
	if p.DOB != "" {
		k := demoKey(p.DOB, p.Family)
		st.byDemo[k] = slices.DeleteFunc(st.byDemo[k], func(x *patient) bool { return x == p })
	}
	if family != "" {
		p.Family = family
	}
	if dob != "" {
		p.DOB = dob
	}
	if p.DOB != "" {
		k := demoKey(p.DOB, p.Family)
		st.byDemo[k] = insertBySeq(st.byDemo[k], p)
	}
}

// insertBySeq inserts p into ps, kept in creation order.
func insertBySeq(ps []*patient, p *patient) []*patient {
	i, _ := slices.BinarySearchFunc(ps, p.seq, func(x *patient, seq int) int { return x.seq - seq })
	return slices.Insert(ps, i, p)
}

func (st *store) newPatientID() string {
	for {
		st.nextPatient++
		id := fmt.Sprintf("SB%07d", st.nextPatient)
		if _, used := st.byID[id]; !used {
			return id
		}
	}
}

func (st *store) newDoseID() string {
	st.nextDose++
	return fmt.Sprintf("SBD%07d", st.nextDose)
}

// add stores a new patient and indexes its MRNs and birth date.
func (st *store) add(p *patient) {
	p.seq = len(st.patients)
	st.patients = append(st.patients, p)
	st.byID[p.ID] = p
	mrns := p.mrns
	p.mrns = nil
	for _, m := range mrns {
		st.addMRN(p, m)
	}
	family, dob := p.Family, p.DOB
	p.DOB = ""
	st.setDemographics(p, family, dob)
}

func (st *store) seed(in Patient) string {
	p := &patient{Patient: in}
	p.MRNs = nil
	if p.ID == "" || st.byID[p.ID] != nil {
		p.ID = st.newPatientID()
	}
	for _, id := range in.MRNs {
		p.addMRN(mrn{id: id, authority: in.Facility, facility: in.Facility})
	}
	p.Doses = slices.Clone(in.Doses)
	for i := range p.Doses {
		d := &p.Doses[i]
		if d.ID == "" {
			d.ID = st.newDoseID()
		}
		if c, ok := codes.CVXCode(d.CVX); ok {
			d.CVX = c
		}
		if d.Completion == "" {
			d.Completion = "CP"
			if d.Refusal {
				d.Completion = "RE"
			}
		}
		d.Refusal = d.Refusal || d.Completion == "RE"
		if d.Facility == "" {
			d.Facility = in.Facility
		}
	}
	st.add(p)
	return p.ID
}

// demographics is what a VXU's PID or a query's QPD says about the patient.
// Values are decoded plain text, except address and phone (standard wire
// form).
type demographics struct {
	mrns                          []mrn    // PID-3 / QPD-3 other than SR
	registryIDs                   []string // PID-3 / QPD-3 of type SR
	family, given, middle, mother string
	dob, sex                      string // dob as YYYYMMDD
	address, phone                string
}

// byMRN returns the patients for whom facility reported one of d's MRNs
// and whose birth date does not contradict d's: senders reuse test MRNs,
// and a registry does not merge a different child into a record on an
// MRN alone.
func (st *store) byMRN(d demographics, facility string) []*patient {
	var out []*patient
	for _, m := range d.mrns {
		for _, p := range st.byMRNKey[mrnKey{facility, m.id}] {
			if slices.Contains(out, p) {
				continue
			}
			if d.dob != "" && p.DOB != "" && d.dob != p.DOB {
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

// byRegistryID returns the patient named by one of d's SR identifiers.
func (st *store) byRegistryID(d demographics) *patient {
	for _, id := range d.registryIDs {
		if p := st.byID[id]; p != nil {
			return p
		}
	}
	return nil
}

// byDemographics returns the patients with d's family and given names
// (case-insensitive), birth date and, when both sides know it, sex. When
// several match and d has a mother's maiden name, those whose mother's
// maiden name agrees are preferred.
func (st *store) byDemographics(d demographics) []*patient {
	if d.family == "" || d.dob == "" {
		return nil
	}
	var out []*patient
	for _, p := range st.byDemo[demoKey(d.dob, d.family)] {
		if d.given != "" && !strings.EqualFold(p.Given, d.given) {
			continue
		}
		if d.sex != "" && p.Sex != "" && !strings.EqualFold(p.Sex, d.sex) {
			continue
		}
		out = append(out, p)
	}
	if len(out) > 1 && d.mother != "" {
		var same []*patient
		for _, p := range out {
			if strings.EqualFold(p.MotherMaiden, d.mother) {
				same = append(same, p)
			}
		}
		if len(same) > 0 {
			out = same
		}
	}
	return out
}

// matchOrCreate finds the patient a VXU is about — by registry ID, then by
// MRN from the same facility, then by name, birth date and sex — or
// creates one, and records the VXU's demographics on it (latest wins).
func (st *store) matchOrCreate(d demographics, facility string) *patient {
	p := st.byRegistryID(d)
	if p == nil {
		if ps := st.byMRN(d, facility); len(ps) > 0 {
			p = ps[0]
		}
	}
	if p == nil {
		if ps := st.byDemographics(d); len(ps) > 0 {
			p = ps[0]
		}
	}
	if p == nil {
		p = &patient{Patient: Patient{ID: st.newPatientID(), Facility: facility}}
		st.add(p)
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	st.setDemographics(p, d.family, d.dob)
	set(&p.Given, d.given)
	set(&p.Middle, d.middle)
	set(&p.MotherMaiden, d.mother)
	set(&p.Sex, d.sex)
	set(&p.Address, d.address)
	set(&p.Phone, d.phone)
	for _, m := range d.mrns {
		m.facility = facility
		st.addMRN(p, m)
	}
	return p
}

// findDose returns the index of the live dose that an update or delete
// from facility names: by ORC-3 (the facility's filler ID, or the
// registry's own dose ID), by ORC-2 from the same facility, else by CVX
// and date. An order ID that several live doses share (some senders reuse
// one) only counts together with the CVX and date. It returns -1 when
// there is none.
func (p *patient) findDose(d Dose, facility string) int {
	byID := func(match func(x Dose) bool) int {
		var hits []int
		for i, x := range p.Doses {
			if !x.Deleted && match(x) {
				hits = append(hits, i)
			}
		}
		switch len(hits) {
		case 0:
			return -1
		case 1:
			return hits[0]
		}
		for _, i := range hits {
			if p.Doses[i].CVX == d.CVX && p.Doses[i].Date == d.Date {
				return i
			}
		}
		return -1
	}
	if d.FillerID != "" {
		if i := byID(func(x Dose) bool {
			return x.ID == d.FillerID || (x.FillerID == d.FillerID && x.Facility == facility)
		}); i >= 0 {
			return i
		}
	}
	if d.PlacerID != "" {
		if i := byID(func(x Dose) bool { return x.PlacerID == d.PlacerID && x.Facility == facility }); i >= 0 {
			return i
		}
	}
	return p.findSame(d)
}

// findSame returns the index of the live dose with d's CVX, date and kind
// (given, refused or not administered), or -1.
func (p *patient) findSame(d Dose) int {
	for i, x := range p.Doses {
		if !x.Deleted && x.CVX == d.CVX && x.Date == d.Date && x.kind() == d.kind() {
			return i
		}
	}
	return -1
}

// kind classifies a dose by completion: "given" (CP, PA), "RE" or "NA".
func (d Dose) kind() string {
	switch {
	case d.Refusal || d.Completion == "RE":
		return "RE"
	case d.Completion == "NA":
		return "NA"
	}
	return "given"
}

// merge returns upd with the identity of old and old's values where upd
// has none.
func merge(old, upd Dose) Dose {
	upd.ID = old.ID
	keep := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	keep(&upd.Lot, old.Lot)
	keep(&upd.MVX, old.MVX)
	keep(&upd.Amount, old.Amount)
	keep(&upd.Source, old.Source)
	keep(&upd.PlacerID, old.PlacerID)
	keep(&upd.FillerID, old.FillerID)
	keep(&upd.Route, old.Route)
	keep(&upd.Site, old.Site)
	return upd
}

// String describes the patient by registry ID only: every other field is
// PHI.
func (p Patient) String() string {
	return "patient " + p.ID + " (" + strconv.Itoa(len(p.Doses)) + " doses)"
}

// GoString returns String, so %#v does not dump the demographics.
func (p Patient) GoString() string { return p.String() }

// Format writes String for every verb.
func (p Patient) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, p.String()) }
