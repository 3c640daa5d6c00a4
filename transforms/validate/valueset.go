package validate

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/iisync/iisync/transforms/iis/codes"
)

// valueSet answers whether a code belongs to one value set. Codes come
// trimmed of spaces; matching ignores case except in case-sensitive sets
// (UCUM).
type valueSet struct {
	title   string          // how messages name it, e.g. "MVX", "HL70001"
	short   map[uint64]bool // codes of up to 8 bytes (upper-cased unless exact), packed
	long    map[string]bool // longer codes
	exact   bool            // case-sensitive
	lookup  func(string) bool
	vaccine bool // RXA-5: CVX or NDC, chosen by the coding system (see vaccineCode)
}

// add puts code in the set's own maps.
func (vs *valueSet) add(code string) {
	if !vs.exact {
		code = strings.ToUpper(code)
	}
	if k, ok := pack([]byte(code)); ok {
		if vs.short == nil {
			vs.short = map[uint64]bool{}
		}
		vs.short[k] = true
		return
	}
	if vs.long == nil {
		vs.long = map[string]bool{}
	}
	vs.long[code] = true
}

// pack turns a code of 1 to 8 bytes into a map key.
func pack(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var k uint64
	for _, c := range b {
		k = k<<8 | uint64(c)
	}
	return k | uint64(len(b))<<60, true
}

// has reports whether code is in the set. For a set package codes holds,
// the maps are a fast path of codes it confirmed, and lookup decides the
// rest.
func (vs *valueSet) has(code []byte) bool {
	var buf [64]byte
	if len(code) > len(buf) {
		return false
	}
	key := code
	if !vs.exact {
		key = upperInto(buf[:0], code)
	}
	if k, ok := pack(key); ok {
		if vs.short[k] {
			return true
		}
	} else if vs.long[string(key)] {
		return true
	}
	return vs.lookup != nil && vs.lookup(string(code))
}

// upperInto appends the ASCII upper case of b to dst.
func upperInto(dst, b []byte) []byte {
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// tableSet is a value set held by package codes (TableText).
func tableSet(table, title string) *valueSet {
	return &valueSet{title: title, lookup: func(code string) bool {
		_, ok := codes.TableText(table, code)
		if !ok && strings.ToUpper(code) != code {
			_, ok = codes.TableText(table, strings.ToUpper(code))
		}
		return ok
	}}
}

// loadValueSets builds the value sets the profile engine enforces, by the
// name the NIST profiles bind them with. Bindings without an entry here
// (local tables such as HL70361/HL70362, or sets not shipped) are not
// checked.
func loadValueSets() (map[string]*valueSet, error) {
	cvx := &valueSet{title: "CVX", lookup: func(code string) bool { _, ok := codes.CVXCode(code); return ok }}
	mvx := &valueSet{title: "MVX", lookup: func(code string) bool { _, ok := codes.LookupMVX(code); return ok }}
	out := map[string]*valueSet{
		"CVX":                  cvx,
		"CVX:NDC_Use:NDC_Sale": {title: "CVX/NDC", vaccine: true},
		"MVX":                  mvx,
		"NIP001":               tableSet("NIP001", "NIP001"),
		"NIP002":               tableSet("NIP002", "NIP002"),
		"NIP003":               tableSet("NIP003", "NIP003"),
		"NCIT":                 tableSet("NCIT", "NCIT"),
		"HL70064_IZ":           tableSet("HL70064", "HL70064"),
		"HL70163_IZ":           tableSet("HL70163", "HL70163"),
		"HL70322_IZ":           tableSet("HL70322", "HL70322"),
		"HL70323_IZ":           tableSet("HL70323", "HL70323"),
	}
	out["HL70064"] = out["HL70064_IZ"]
	// The NIST copies of the sets above: a fast path for the codes package
	// codes confirms, so that common codes need no call (and no string).
	err := rows("data/valuesets_codes.tsv", func(c []string) error {
		vs := out[c[0]]
		if vs == nil || vs.lookup == nil {
			return fmt.Errorf("value set %s is not one package codes holds", c[0])
		}
		if code := col(c, 1); vs.lookup(code) {
			vs.add(code)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	add := func(c []string) error {
		name, code := c[0], col(c, 1)
		if name == "" || code == "" {
			return fmt.Errorf("empty value set or code")
		}
		vs := out[name]
		if vs == nil {
			vs = &valueSet{title: strings.TrimSuffix(name, "_IZ"), exact: name == "UCUM"}
			out[name] = vs
		}
		if vs.lookup != nil {
			return fmt.Errorf("value set %s is held by package codes", name)
		}
		vs.add(code)
		return nil
	}
	if err := rows("data/valuesets.tsv", add); err != nil {
		return nil, err
	}
	if err := rows("data/valuesets_local.tsv", add); err != nil {
		return nil, err
	}
	return out, nil
}

// vaccineCode picks the code of RXA-5 that names the vaccine the way a
// registry does: a CVX in the primary triplet, else a CVX in the
// alternate, else an NDC in the primary (also an uncoded code with
// hyphens), else an NDC in the alternate, else the primary as a CVX. It
// returns the component used (1 or 4) and the CVX code it resolves to,
// with ok false when that code is unknown.
func (t *tables) vaccineCode(c1, s1, c4, s6 []byte) (comp int, cvx codes.CVX, ok bool) {
	isSys := func(s []byte, name string) bool { return bytes.EqualFold(s, []byte(name)) }
	code, ndc := c1, false
	comp = 1
	switch {
	case isSys(s1, "CVX"):
	case isSys(s6, "CVX") && len(c4) > 0:
		code, comp = c4, 4
	case isSys(s1, "NDC") || (len(s1) == 0 && bytes.IndexByte(c1, '-') >= 0):
		ndc = true
	case isSys(s6, "NDC") && len(c4) > 0:
		code, comp, ndc = c4, 4, true
	}
	if len(code) == 0 {
		return comp, codes.CVX{}, false
	}
	if ndc {
		if c, found := t.ndcFast[string(code)]; found {
			return comp, c, true
		}
		c, found := codes.LookupNDC(string(code))
		if !found {
			return comp, codes.CVX{}, false
		}
		cvx, ok = codes.LookupCVX(c)
		return comp, cvx, ok
	}
	if c, found := t.cvxFast[string(code)]; found {
		return comp, c, true
	}
	cvx, ok = codes.LookupCVX(string(code))
	return comp, cvx, ok
}

// loadVaccineHints fills the fast paths of vaccineCode: every CVX of the
// AIRA codebase and every NDC it links to a CVX, as package codes resolves
// them. Codes not in them are still asked of package codes.
func (t *tables) loadVaccineHints() error {
	t.cvxFast, t.ndcFast = map[string]codes.CVX{}, map[string]codes.CVX{}
	for _, code := range t.cvxCodes {
		if c, ok := codes.LookupCVX(code); ok {
			t.cvxFast[code] = c
		}
	}
	return rows("data/ndc_hints.tsv", func(c []string) error {
		if cvx, ok := codes.LookupNDC(c[0]); ok {
			if v, ok := codes.LookupCVX(cvx); ok {
				t.ndcFast[c[0]] = v
			}
		}
		return nil
	})
}
