package validate

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/hl7/dict"
	"github.com/iisync/iisync/transforms/iis/codes"
)

//go:embed data/*.tsv data/*.txt
var dataFS embed.FS

// usage is an element's usage code in a profile.
type usage uint8

const (
	uO  usage = iota // optional (and anything not listed)
	uR               // required
	uRE              // required, may be empty
	uC               // conditional
	uX               // not supported
)

func parseUsage(s string) usage {
	switch s {
	case "R":
		return uR
	case "RE":
		return uRE
	case "C":
		return uC
	case "X":
		return uX
	}
	return uO
}

// tables is everything loaded from data/: the three profiles, the value
// sets, the CVX use dates and the temporary-name lists. It never changes
// once loaded.
type tables struct {
	vxu, z34, z44 *profile
	vs            map[string]*valueSet
	cvxDates      map[string]useDate   // by CVX code without leading zeros
	cvxCodes      []string             // the CVX codes of cvx_use_dates.tsv, as written
	cvxFast       map[string]codes.CVX // lookup fast paths (see vaccineCode)
	ndcFast       map[string]codes.CVX
	tempGiven     map[string]bool
	tempFamily    map[string]bool
}

// profile is one NIST IG 1.5 message profile, compiled for checking.
type profile struct {
	id    string // "VXU-Z22"
	title string // "VXU Z22", for messages
	vxu   bool   // VXU rules (order groups, dose checks) apply; else QBP rules
	root  *node
	segs  map[segID]*segSpec
	names map[segID]string // the IDs of the profile's segments, as strings
}

// segSpec holds what is checked in one segment of a profile: its fields
// (those with a usage, cardinality or value set to check) and its
// conformance statements, in field order.
type segSpec struct {
	checks []fieldCheck
	cons   []constraint
}

// fieldCheck is one field of a segment, with everything to check in it.
type fieldCheck struct {
	n           int
	usage       usage
	max         int  // maximum repetitions; 0 = unbounded
	composite   bool // the data type has components
	comps       []compCheck
	pred        cond // for usage C: the field is required when it holds
	missingRule rule
	msgMissing  string
	msgTooMany  string
	vs          *valueSet
	vsRule      rule
	msgVS       string
}

// compCheck is a required component of a field.
type compCheck struct {
	n    int
	rule rule
	msg  string
}

// useDate is the AIRA codebase entry of a CVX code.
type useDate struct {
	concept             string // "vaccine", "unspecified", "non vaccine", "foreign vaccine", …
	notBefore, notAfter int    // YYYYMMDD; 0 when not given
}

var loadTables = sync.OnceValues(func() (*tables, error) {
	t := &tables{}
	var err error
	if t.vs, err = loadValueSets(); err != nil {
		return nil, err
	}
	if t.cvxDates, t.cvxCodes, err = loadUseDates(); err != nil {
		return nil, err
	}
	if err = t.loadVaccineHints(); err != nil {
		return nil, err
	}
	if t.tempGiven, t.tempFamily, err = loadTemporaryNames(); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst   **profile
		id    string
		title string
		vxu   bool
	}{
		{&t.vxu, "VXU-Z22", "VXU Z22", true},
		{&t.z34, "QBP-Z34", "QBP Z34", false},
		{&t.z44, "QBP-Z44", "QBP Z44", false},
	} {
		if *p.dst, err = t.loadProfile(p.id, p.title, p.vxu); err != nil {
			return nil, err
		}
	}
	return t, nil
})

// pick chooses the profile of m from MSH-9 (and MSH-21 or QPD-1 for a
// query), or nil when m is neither a VXU^V04 nor a QBP^Q11.
func (t *tables) pick(m *hl7.Message) *profile {
	msh, ok := m.Segment("MSH", 1)
	if !ok {
		return nil
	}
	typ := msh.Field(9)
	code, event := trimmed(typ.Component(1)), trimmed(typ.Component(2))
	switch {
	case bytes.EqualFold(code, []byte("VXU")) && bytes.EqualFold(event, []byte("V04")):
		return t.vxu
	case bytes.EqualFold(code, []byte("QBP")) && bytes.EqualFold(event, []byte("Q11")):
	default:
		return nil
	}
	for rep := range msh.Field(21).Repetitions() {
		switch id := trimmed(rep.Component(1)); {
		case bytes.EqualFold(id, []byte("Z34")):
			return t.z34
		case bytes.EqualFold(id, []byte("Z44")):
			return t.z44
		}
	}
	if qpd, ok := m.Segment("QPD", 1); ok && bytes.EqualFold(trimmed(qpd.Field(1).Component(1)), []byte("Z34")) {
		return t.z34
	}
	return t.z44
}

// rows yields the tab-separated rows of an embedded file, skipping comment
// lines (#), blank lines and the header (the first other line).
func rows(name string, yield func(cols []string) error) error {
	b, err := dataFS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("validate: embedded table missing: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	header := true
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		cols := strings.Split(s, "\t")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if err := yield(cols); err != nil {
			return fmt.Errorf("validate: %s line %d: %w", name, line, err)
		}
	}
	return sc.Err()
}

func col(cols []string, i int) string {
	if i < len(cols) {
		return cols[i]
	}
	return ""
}

// appliesTo reports whether a profiles column ("*" or "VXU-Z22,QBP-Z34")
// names profile id.
func appliesTo(profiles, id string) bool {
	if profiles == "*" {
		return true
	}
	for p := range strings.SplitSeq(profiles, ",") {
		if strings.TrimSpace(p) == id {
			return true
		}
	}
	return false
}

// loadProfile compiles one profile from its field list, structure and the
// hand-written predicate, constraint and override tables.
func (t *tables) loadProfile(id, title string, vxu bool) (*profile, error) {
	p := &profile{id: id, title: title, vxu: vxu, segs: map[segID]*segSpec{}, names: map[segID]string{}}
	root, err := loadStructure("data/" + id + "_structure.txt")
	if err != nil {
		return nil, err
	}
	p.root = root
	for _, sid := range root.members {
		p.names[sid] = fmt.Sprintf("%c%c%c", byte(sid>>16), byte(sid>>8), byte(sid))
	}
	overrides, err := loadOverrides(id)
	if err != nil {
		return nil, err
	}
	preds, err := loadPredicates(id)
	if err != nil {
		return nil, err
	}
	err = rows("data/"+id+"_fields.tsv", func(c []string) error {
		if len(c) < 9 {
			return fmt.Errorf("want at least 9 columns, got %d", len(c))
		}
		seg := c[1]
		n, err := strconv.Atoi(c[2])
		if err != nil {
			return err
		}
		if !root.has(idOf(seg)) || (seg == "MSH" && n <= 2) {
			return nil // MSH-1 and MSH-2 exist whenever the message parsed
		}
		fc := fieldCheck{n: n, usage: parseUsage(c[4])}
		if c[6] != "*" {
			if fc.max, err = strconv.Atoi(c[6]); err != nil {
				return err
			}
		}
		label := fmt.Sprintf("%s-%d (%s)", seg, n, c[3])
		fc.composite = col(c, 9) != ""
		fc.missingRule = rUsage
		if o, ok := overrides[seg+"-"+c[2]+" usage"]; ok {
			fc.missingRule, o.used = o.rule, true
		}
		fc.msgMissing = label + " is required but missing"
		if pr, ok := preds[seg+"-"+c[2]]; ok && fc.usage == uC {
			fc.pred, pr.used = pr.when, true
			fc.msgMissing = label + " is missing; it is required " + pr.reason
		}
		if fc.max > 0 {
			fc.msgTooMany = fmt.Sprintf("%s repeats more often than the %s profile allows (at most %d)", label, title, fc.max)
		}
		if fc.usage == uR || fc.usage == uRE || fc.usage == uC {
			for cc := range strings.SplitSeq(col(c, 9), ";") {
				num, name, u, ok := parseComponent(cc)
				if !ok || u != "R" {
					continue
				}
				ck := compCheck{n: num, rule: rComponentUsage,
					msg: fmt.Sprintf("%s-%d.%d (%s of %s-%d %s) is required but missing", seg, n, num, name, seg, n, c[3])}
				if fc.usage == uR && num == 1 {
					ck.rule = fc.missingRule // the identifier of a required field is its value
				}
				if o, ok := overrides[fmt.Sprintf("%s-%d.%d usage", seg, n, num)]; ok {
					ck.rule, o.used = o.rule, true
				}
				fc.comps = append(fc.comps, ck)
			}
			if vs := t.vs[c[8]]; vs != nil && c[8] != "" {
				fc.vs = vs
				fc.vsRule = rValueSet
				if o, ok := overrides[seg+"-"+c[2]+" value_set"]; ok {
					fc.vsRule, o.used = o.rule, true
				}
				fc.msgVS = fmt.Sprintf("%s holds a code that is not in value set %s", label, vs.title)
				if vs.vaccine {
					fc.msgVS = label + " is not a recognized CVX code or an NDC that maps to one"
				}
			}
		}
		if fc.usage == uO || fc.usage == uX || (fc.usage == uRE && fc.vs == nil && len(fc.comps) == 0 && fc.max == 0) {
			return nil
		}
		if fc.usage == uC && fc.pred == nil && fc.vs == nil && len(fc.comps) == 0 && fc.max == 0 {
			return nil
		}
		spec := p.segs[idOf(seg)]
		if spec == nil {
			spec = &segSpec{}
			p.segs[idOf(seg)] = spec
		}
		spec.checks = append(spec.checks, fc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, used := range overrides {
		if !used.used {
			return nil, fmt.Errorf("validate: overrides.tsv: %s names no checked element of %s", k, id)
		}
	}
	for k, pr := range preds {
		if !pr.used {
			return nil, fmt.Errorf("validate: predicates.tsv: %s is not a conditional field of %s", k, id)
		}
	}
	err = rows("data/constraints.tsv", func(c []string) error {
		if !appliesTo(c[0], id) {
			return nil
		}
		con, err := t.parseConstraint(c)
		if err != nil {
			return err
		}
		spec := p.segs[idOf(c[1])]
		if spec == nil {
			spec = &segSpec{}
			p.segs[idOf(c[1])] = spec
		}
		spec.cons = append(spec.cons, con)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A field a conformance statement pins to fixed values (ORC-1 RE, OBX-11
	// F, MSH-21 Z22 …) is not also checked against its wider value set, so
	// that one wrong code gives one finding.
	for _, spec := range p.segs {
		for _, con := range spec.cons {
			if (con.check != ckEq && con.check != ckIn) || con.comp > 1 || len(con.when) > 0 {
				continue
			}
			for i := range spec.checks {
				if fc := &spec.checks[i]; fc.n == con.field && fc.vs != nil && !fc.vs.vaccine {
					fc.vs = nil
				}
			}
		}
	}
	return p, nil
}

// parseComponent reads one entry of a fields.tsv components column, e.g.
// "2:Given Name(R)".
func parseComponent(s string) (n int, name, usage string, ok bool) {
	s = strings.TrimSpace(s)
	num, rest, found := strings.Cut(s, ":")
	if !found {
		return 0, "", "", false
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", "", false
	}
	i := strings.LastIndexByte(rest, '(')
	if i < 0 || !strings.HasSuffix(rest, ")") {
		return 0, "", "", false
	}
	return n, rest[:i], rest[i+1 : len(rest)-1], true
}

// override is a row of overrides.tsv; used records that it matched.
type override struct {
	rule rule
	used bool
}

// loadOverrides reads overrides.tsv for profile id, keyed "SEG-n check"
// or "SEG-n.c check".
func loadOverrides(id string) (map[string]*override, error) {
	out := map[string]*override{}
	err := rows("data/overrides.tsv", func(c []string) error {
		if !appliesTo(c[0], id) {
			return nil
		}
		r, ok := ruleIndex[col(c, 4)]
		if !ok {
			return fmt.Errorf("unknown rule %q", col(c, 4))
		}
		out[c[1]+"-"+c[2]+" "+c[3]] = &override{rule: r}
		return nil
	})
	return out, err
}

type predicate struct {
	when   cond
	reason string
	used   bool
}

// loadPredicates reads predicates.tsv for profile id, keyed "SEG-n".
func loadPredicates(id string) (map[string]*predicate, error) {
	out := map[string]*predicate{}
	err := rows("data/predicates.tsv", func(c []string) error {
		if c[0] != id {
			return nil
		}
		when, err := parseCond(col(c, 3))
		if err != nil {
			return err
		}
		out[c[1]+"-"+c[2]] = &predicate{when: when, reason: col(c, 4)}
		return nil
	})
	return out, err
}

// loadUseDates reads cvx_use_dates.tsv.
func loadUseDates() (map[string]useDate, []string, error) {
	out := map[string]useDate{}
	var list []string
	err := rows("data/cvx_use_dates.tsv", func(c []string) error {
		u := useDate{concept: col(c, 1)}
		var ok bool
		if s := col(c, 2); s != "" {
			if u.notBefore, ok = parseDate([]byte(s)); !ok {
				return fmt.Errorf("bad not_before date")
			}
		}
		if s := col(c, 3); s != "" {
			if u.notAfter, ok = parseDate([]byte(s)); !ok {
				return fmt.Errorf("bad not_after date")
			}
		}
		out[trimZeros(c[0])] = u
		list = append(list, c[0])
		return nil
	})
	return out, list, err
}

// loadTemporaryNames reads temporary_names.tsv.
func loadTemporaryNames() (given, family map[string]bool, err error) {
	given, family = map[string]bool{}, map[string]bool{}
	err = rows("data/temporary_names.tsv", func(c []string) error {
		switch c[0] {
		case "given":
			given[col(c, 1)] = true
		case "family":
			family[col(c, 1)] = true
		default:
			return fmt.Errorf("unknown kind %q", c[0])
		}
		return nil
	})
	return given, family, err
}

// trimZeros drops the leading zeros of an all-digit code ("08" → "8").
func trimZeros(s string) string {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return s
		}
	}
	t := strings.TrimLeft(s, "0")
	if t == "" && s != "" {
		return "0"
	}
	return t
}

// segmentLabel names a segment for messages: "PID (Patient Identification)".
func segmentLabel(seg string) string {
	if n := dict.SegmentName(seg); n != "" {
		return seg + " (" + n + ")"
	}
	return seg
}
