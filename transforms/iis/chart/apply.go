package chart

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// Event reports whether d records an immunization event, one that belongs
// in Chart.Doses: it was given (not refused, not "not administered") and is
// not the CVX 998 placeholder. The other rows of a VXU or RSP only carry
// Indicators.
func (d Dose) Event() bool { return d.Given() && CanonCVX(d.CVX) != NoVaccine }

// group is one ORC/RXA group of a message.
type group struct {
	orc, rxa, rxr hl7.Segment
	obx           []hl7.Segment
}

// groupsOf cuts a message into ORC/RXA groups. An ORC starts a group; an RXA
// joins the open group when it has no RXA yet, else starts one (messages
// without ORC); RXR and OBX join the open group once it has its RXA. Groups
// without an RXA are dropped.
func groupsOf(m *hl7.Message) []group {
	var gs []group
	open := false
	for s := range m.Segments() {
		switch s.Name() {
		case "ORC":
			gs = append(gs, group{orc: s})
			open = true
		case "RXA":
			if !open || gs[len(gs)-1].rxa.Name() != "" {
				gs = append(gs, group{})
			}
			gs[len(gs)-1].rxa = s
			open = true
		case "RXR":
			if open && gs[len(gs)-1].rxa.Name() != "" && gs[len(gs)-1].rxr.Name() == "" {
				gs[len(gs)-1].rxr = s
			}
		case "OBX":
			if open && gs[len(gs)-1].rxa.Name() != "" {
				gs[len(gs)-1].obx = append(gs[len(gs)-1].obx, s)
			}
		}
	}
	return slices.DeleteFunc(gs, func(g group) bool { return g.rxa.Name() == "" })
}

// row is one parsed group with its action.
type row struct {
	dose   Dose
	ins    []Indicator
	action string // RXA-21: "A", "U" or "D"
}

// rowsOf parses the groups of m and gives each dose a message-unique ID:
// ORC-3.1 when no other group of m has the same ORC-3.1, else ORC-2.1 under
// the same condition, else the synthetic "rxa:<date>:<cvx>", numbered
// ":2", ":3" ... when it repeats.
func rowsOf(m *hl7.Message) []row {
	gs := groupsOf(m)
	n3, n2 := map[string]int{}, map[string]int{}
	for _, g := range gs {
		n3[orderID(g.orc.Field(3))]++
		n2[orderID(g.orc.Field(2))]++
	}
	synth := map[string]int{}
	rows := make([]row, 0, len(gs))
	for _, g := range gs {
		d, ins := ParseDose(g.orc, g.rxa, g.rxr, g.obx)
		switch id3, id2 := orderID(g.orc.Field(3)), orderID(g.orc.Field(2)); {
		case id3 != "" && n3[id3] == 1:
			d.ID = id3
		case id2 != "" && n2[id2] == 1:
			d.ID = id2
		default:
			d.ID = syntheticID(d)
			synth[d.ID]++
			if k := synth[d.ID]; k > 1 {
				d.ID += ":" + strconv.Itoa(k)
			}
		}
		a := strings.ToUpper(sub(g.rxa.Field(21), 1))
		if a != "D" && a != "U" {
			a = "A"
		}
		rows = append(rows, row{dose: d, ins: ins, action: a})
	}
	return rows
}

// Apply folds one VXU^V04 (Z22) into c, the EHR's record as the EHR sent it.
//
// c.Key is set from KeyOf(m) when it is zero; a message for another key gives
// ErrOtherPatient. The PID fields of c.Patient are replaced by the message's;
// the PD1 fields only when the message has a PD1, the guardian only when it
// has an NK1. c.RegistryID is set when PID-3 has an SR identifier.
//
// Each ORC/RXA group is parsed by ParseDose (IDs made unique per message, see
// rowsOf) and applied in order by its RXA-21 action:
//
//   - A, U, empty or unknown: the dose is upserted (replaces the dose with the
//     same ID, else is added) with Updated set from MSH-7;
//   - D: the dose with the same ID is removed; when there is none, every
//     dose with the same date and the same CVX (the NDC when there is no CVX)
//     is removed.
//
// A D never removes a dose that a later group of the same message upserts,
// which keeps Apply idempotent. A row that is not an Event (a refusal, a not
// administered row, CVX 998) only adds its indicators, or removes them
// when its action is D. Indicators are deduplicated by kind, code and CVX.
//
// c.Updated becomes MSH-7 when that is later. Apply is deterministic and
// idempotent. On error c is unchanged. c must not be nil.
func Apply(c *Chart, m *hl7.Message) error {
	if m == nil {
		return ErrNotVXU
	}
	msh, _ := m.Segment("MSH", 1)
	if !strings.EqualFold(sub(msh.Field(9), 1), "VXU") {
		return fmt.Errorf("MSH[1]-9: %w", ErrNotVXU)
	}
	k, err := KeyOf(m)
	if err != nil {
		return err
	}
	if c.Key != (Key{}) && c.Key != k {
		return fmt.Errorf("PID[1]-3: %w", ErrOtherPatient)
	}
	c.Key = k
	at := ParseTime(sub(msh.Field(7), 1))

	pid, _ := m.Segment("PID", 1)
	pd1, hasPD1 := m.Segment("PD1", 1)
	nk1, hasNK1 := m.Segment("NK1", 1)
	p := ParseDemographics(pid, pd1, nk1)
	old := c.Patient
	if !hasPD1 {
		p.Publicity, p.Protection, p.RegistryStatus = old.Publicity, old.Protection, old.RegistryStatus
	}
	if !hasNK1 {
		p.GuardianFamily, p.GuardianGiven, p.GuardianRelation = old.GuardianFamily, old.GuardianGiven, old.GuardianRelation
	}
	c.Patient = p
	if id := RegistryIDOf(pid); id != "" {
		c.RegistryID = id
	}

	rows := rowsOf(m)
	last := map[string]int{} // dose ID -> index of the last row that upserts it
	for i, r := range rows {
		if r.dose.Event() && r.action != "D" {
			last[r.dose.ID] = i
		}
	}
	for i, r := range rows {
		if !r.dose.Event() {
			for _, in := range r.ins {
				if r.action == "D" {
					c.removeIndicator(in)
				} else {
					c.AddIndicator(in)
				}
			}
			continue
		}
		d := r.dose
		if r.action == "D" {
			keep := func(x Dose) bool { j, ok := last[x.ID]; return ok && j > i }
			if x, ok := c.Dose(d.ID); ok {
				if !keep(x) {
					c.Remove(d.ID)
				}
			} else if sameKey(d) != "" {
				c.Doses = slices.DeleteFunc(c.Doses, func(x Dose) bool {
					return sameKey(x) == sameKey(d) && !keep(x)
				})
				if len(c.Doses) == 0 {
					c.Doses = nil
				}
			}
			for _, in := range r.ins {
				c.removeIndicator(in)
			}
			continue
		}
		d.Updated = at
		if _, known := c.Dose(d.ID); !known && sameKey(d) != "" {
			// The EHR's own record of a dose the Sync Registry imported
			// (RXA-9 05, under the registry's ID) takes its place.
			c.Doses = slices.DeleteFunc(c.Doses, func(x Dose) bool {
				return x.Source == SourceFromRegistry && sameKey(x) == sameKey(d)
			})
		}
		c.Upsert(d)
		for _, in := range r.ins {
			c.AddIndicator(in)
		}
	}
	if at.After(c.Updated) {
		c.Updated = at
	}
	return nil
}

// SourceFromRegistry is the NIP001 code of a historical dose taken from a
// registry: what the Sync Registry's Import writes (VXUOptions.Source).
const SourceFromRegistry = "05"

// sameKey is what a delete without a known ID matches on: the date and the
// CVX (else the NDC); "" when either is missing.
func sameKey(d Dose) string {
	v := CanonCVX(d.CVX)
	if v == "" && d.NDC != "" {
		v = "ndc:" + d.NDC
	}
	if d.Date == "" || v == "" {
		return ""
	}
	return d.Date + "|" + v
}

// cmpDose orders doses by date, then CVX, then ID.
func cmpDose(a, b Dose) int {
	return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.CVX, b.CVX), cmp.Compare(a.ID, b.ID))
}

// Upsert replaces the dose with d's ID, or adds d, keeping Doses sorted by
// date, CVX and ID. The chart keeps its own copy of d.Reactions.
func (c *Chart) Upsert(d Dose) {
	d.Reactions = slices.Clone(d.Reactions)
	c.Doses = slices.DeleteFunc(c.Doses, func(x Dose) bool { return x.ID == d.ID })
	i, _ := slices.BinarySearchFunc(c.Doses, d, cmpDose)
	c.Doses = slices.Insert(c.Doses, i, d)
}

// Remove removes the dose with the given ID and reports whether there was
// one.
func (c *Chart) Remove(id string) bool {
	n := len(c.Doses)
	c.Doses = slices.DeleteFunc(c.Doses, func(x Dose) bool { return x.ID == id })
	if len(c.Doses) == 0 {
		c.Doses = nil
	}
	return len(c.Doses) != n
}

// Dose returns a copy of the dose with the given ID.
func (c *Chart) Dose(id string) (Dose, bool) {
	for _, d := range c.Doses {
		if d.ID == id {
			d.Reactions = slices.Clone(d.Reactions)
			return d, true
		}
	}
	return Dose{}, false
}

// indicatorKey is what makes two indicators the same: kind, code and CVX
// (leading zeros ignored).
func indicatorKey(in Indicator) [3]string {
	return [3]string{string(in.Kind), in.Code, CanonCVX(in.CVX)}
}

// cmpIndicator orders indicators by kind, CVX and code. The CVX compares
// without leading zeros ("8" after "45"), the order stored charts have.
func cmpIndicator(a, b Indicator) int {
	ka, kb := indicatorKey(a), indicatorKey(b)
	ca, cb := strings.TrimLeft(ka[2], "0"), strings.TrimLeft(kb[2], "0")
	return cmp.Or(cmp.Compare(ka[0], kb[0]), cmp.Compare(ca, cb), cmp.Compare(ka[1], kb[1]))
}

// AddIndicator adds in, replacing an indicator of the same kind, code and
// CVX. Indicators stay sorted by kind, CVX and code. The chart keeps its own
// copy of in.Groups.
func (c *Chart) AddIndicator(in Indicator) {
	in.Groups = slices.Clone(in.Groups)
	c.removeIndicator(in)
	i, _ := slices.BinarySearchFunc(c.Indicators, in, cmpIndicator)
	c.Indicators = slices.Insert(c.Indicators, i, in)
}

// removeIndicator removes the indicators of in's kind, code and CVX.
func (c *Chart) removeIndicator(in Indicator) {
	k := indicatorKey(in)
	c.Indicators = slices.DeleteFunc(c.Indicators, func(x Indicator) bool { return indicatorKey(x) == k })
	if len(c.Indicators) == 0 {
		c.Indicators = nil
	}
}
