package codes

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

//go:embed data/*.tsv
var dataFS embed.FS

// CVX is one vaccine code of the CDC CVX table.
type CVX struct {
	// Code is the CVX code as CDC writes it, e.g. "08", "110".
	Code string
	// Short is CDC's short description, e.g. "Hep B, adolescent or pediatric".
	Short string
	// Full is CDC's full vaccine name.
	Full string
	// Status is CDC's status: "Active", "Inactive", "Never Active",
	// "Non-US" or "Pending".
	Status string
	// NonVaccine reports a product that is not a vaccine (immune globulins,
	// antitoxins, tuberculin skin tests, monoclonal antibodies, the 998 "no
	// vaccine administered" and 999 "unknown" placeholders), as the AIRA
	// codebase classifies them.
	NonVaccine bool
	// Groups are the CDC vaccine groups (vax2vg) the vaccine belongs to,
	// spelled as in CDC's table: "DTAP", "HepB", "POLIO", "HIB", "MMR",
	// "VARICELLA", "PneumoPCV", "HepA", "FLU", "ROTAVIRUS", "HPV", "MENING"
	// and so on. A combination vaccine has several (110 is DTAP, HepB and
	// POLIO); a non-vaccine has none.
	Groups []string
}

// MVX is one manufacturer code of the CDC MVX table.
type MVX struct {
	// Code is the MVX code, upper case, e.g. "PMC".
	Code string
	// Name is the manufacturer's name, e.g. "Sanofi Pasteur".
	Name string
	// Status is CDC's status: "Active" or "Inactive".
	Status string
}

// tables is everything parsed from data/.
type tables struct {
	cvx        map[string]CVX      // by normalised code
	cvxOrder   []string            // CDC codes in table order
	groups     map[string][]string // lower-cased group name -> CVX codes in table order
	groupNames map[string]string   // lower-cased group name -> CDC spelling
	groupCVX   map[string]string   // lower-cased group name -> the group's CVX code
	mvx        map[string]MVX      // by upper-cased code
	ndc        map[string]string   // 11 digits -> CVX code
	text       map[string]map[string]string
}

// textFiles maps the coding-system names TableText accepts to their files.
var textFiles = map[string]string{
	"HL70357": "data/hl70357_message_error_condition.tsv",
	"HL70533": "data/cdc0533_application_error_code.tsv",
	"NIP001":  "data/nip001_immunization_information_source.tsv",
	"NIP002":  "data/nip002_substance_refusal_reason.tsv",
	"NIP003":  "data/nip003_observation_identifiers_loinc.tsv",
	"HL70322": "data/hl70322_completion_status.tsv",
	"HL70323": "data/hl70323_action_code.tsv",
	"HL70208": "data/hl70208_query_response_status.tsv",
	"HL70516": "data/hl70516_error_severity.tsv",
	"HL70064": "data/hl70064_vfc_financial_class.tsv",
	"HL70163": "data/hl70163_administrative_site.tsv",
	"NCIT":    "data/ncit_route.tsv",
}

// active holds the tables in use: the embedded ones, or those Override
// installed.
var (
	active     atomic.Pointer[tables]
	activeOnce sync.Once
)

// load returns the active tables, building the embedded ones on first use.
// A defect in the embedded data panics here, which every test exercises.
func load() *tables {
	activeOnce.Do(func() {
		if active.Load() != nil {
			return
		}
		t, err := build(dataFS.ReadFile)
		if err != nil {
			panic("codes: embedded tables: " + err.Error())
		}
		active.CompareAndSwap(nil, t)
	})
	return active.Load()
}

// build parses every table through read (a file name under data/ → its
// bytes).
func build(read func(name string) ([]byte, error)) (t *tables, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%v", r)
		}
	}()
	rows := func(name string) func(yield func([]string) bool) { return rowsOf(read, name) }
	t = &tables{
		cvx:        map[string]CVX{},
		groups:     map[string][]string{},
		groupNames: map[string]string{},
		groupCVX:   map[string]string{},
		mvx:        map[string]MVX{},
		ndc:        map[string]string{},
		text:       map[string]map[string]string{},
	}
	nonVaccine := map[string]bool{}
	for r := range rows("data/cvx_nonvaccine.tsv") {
		nonVaccine[normCVX(r[0])] = true
	}
	for r := range rows("data/cvx.tsv") {
		c := CVX{Code: r[0], Short: col(r, 1), Full: col(r, 2), Status: col(r, 3)}
		k := normCVX(c.Code)
		c.NonVaccine = nonVaccine[k]
		t.cvx[k] = c
		t.cvxOrder = append(t.cvxOrder, c.Code)
	}
	// Vaccine groups come from CDC's vax2vg table (one row per CVX and group).
	for r := range rows("data/cvx_vaccine_group.tsv") {
		k, g, gcvx := normCVX(r[0]), col(r, 3), col(r, 4)
		if g == "" {
			continue
		}
		c, ok := t.cvx[k]
		if !ok {
			continue
		}
		if !slices.Contains(c.Groups, g) {
			c.Groups = append(c.Groups, g)
			t.cvx[k] = c
		}
		lg := strings.ToLower(g)
		t.groupNames[lg] = g
		if gcvx != "" {
			t.groupCVX[lg] = gcvx
		}
	}
	for _, code := range t.cvxOrder {
		for _, g := range t.cvx[normCVX(code)].Groups {
			lg := strings.ToLower(g)
			t.groups[lg] = append(t.groups[lg], code)
		}
	}
	for r := range rows("data/mvx.tsv") {
		m := MVX{Code: strings.ToUpper(r[0]), Name: col(r, 1), Status: col(r, 2)}
		t.mvx[m.Code] = m
	}
	for r := range rows("data/ndc_cvx.tsv") {
		if k := normNDC(r[0]); k != "" {
			t.ndc[k] = col(r, 1)
		}
	}
	for name, file := range textFiles {
		m := map[string]string{}
		for r := range rows(file) {
			m[r[0]] = col(r, 1)
		}
		t.text[name] = m
	}
	if len(t.cvx) == 0 || len(t.mvx) == 0 {
		return nil, errors.New("empty CVX or MVX table")
	}
	return t, nil
}

// rowsOf yields the tab-separated rows of a table file, header skipped. A
// missing file panics; build turns that into its error.
func rowsOf(read func(string) ([]byte, error), name string) func(yield func([]string) bool) {
	return func(yield func([]string) bool) {
		b, err := read(name)
		if err != nil {
			panic("table missing: " + name)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		first := true
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if first {
				first = false
				continue
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			r := strings.Split(line, "\t")
			for i := range r {
				r[i] = strings.TrimSpace(r[i])
			}
			if r[0] == "" {
				continue
			}
			if !yield(r) {
				return
			}
		}
	}
}

func col(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return ""
}

// normCVX trims a CVX code and drops leading zeros from an all-digit code,
// so "08", "8" and " 008" give the same key.
func normCVX(code string) string {
	code = strings.TrimSpace(code)
	if code == "" || strings.Trim(code, "0123456789") != "" {
		return code
	}
	k := strings.TrimLeft(code, "0")
	if k == "" {
		return "0"
	}
	return k
}

// normNDC turns an NDC into its 11 digits: a hyphenated code is padded to
// 5-4-2 (labeler-product-package) first, an unhyphenated one must already
// have 11 digits. It returns "" for anything else.
func normNDC(ndc string) string {
	ndc = strings.TrimSpace(ndc)
	parts := strings.Split(ndc, "-")
	switch len(parts) {
	case 1:
		if len(ndc) != 11 || !allDigits(ndc) {
			return ""
		}
		return ndc
	case 3:
		widths := [3]int{5, 4, 2}
		var b strings.Builder
		for i, p := range parts {
			if p == "" || len(p) > widths[i] || !allDigits(p) {
				return ""
			}
			b.WriteString(strings.Repeat("0", widths[i]-len(p)))
			b.WriteString(p)
		}
		return b.String()
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// LookupCVX returns the CVX entry for code, tolerating surrounding spaces
// and leading zeros ("08" and "8" both find hepatitis B pediatric).
func LookupCVX(code string) (CVX, bool) {
	c, ok := load().cvx[normCVX(code)]
	if ok {
		c.Groups = slices.Clone(c.Groups)
	}
	return c, ok
}

// CVXCode returns CDC's spelling of the CVX code code ("8" → "08"), and
// whether the table has it: LookupCVX's Code without copying the entry,
// for callers that normalise many codes.
func CVXCode(code string) (string, bool) {
	c, ok := load().cvx[normCVX(code)]
	return c.Code, ok
}

// LookupMVX returns the MVX entry for code, case-insensitively.
func LookupMVX(code string) (MVX, bool) {
	m, ok := load().mvx[strings.ToUpper(strings.TrimSpace(code))]
	return m, ok
}

// LookupNDC returns the CVX code of the vaccine with National Drug Code ndc
// (unit of use or unit of sale), as the AIRA codebase links them. It accepts
// the 11-digit form with or without hyphens and pads the 10-digit hyphenated
// forms to 5-4-2.
func LookupNDC(ndc string) (cvx string, ok bool) {
	k := normNDC(ndc)
	if k == "" {
		return "", false
	}
	cvx, ok = load().ndc[k]
	return cvx, ok
}

// Groups returns the CDC vaccine groups of the vaccine with code cvx, or nil
// when the code is unknown or not a vaccine.
func Groups(cvx string) []string {
	return slices.Clone(load().cvx[normCVX(cvx)].Groups)
}

// CVXInGroup returns the CVX codes of the vaccines in a CDC vaccine group,
// in CDC table order. The group name is matched case-insensitively ("HepB",
// "HEPB"); an unknown group gives nil.
func CVXInGroup(group string) []string {
	return slices.Clone(load().groups[strings.ToLower(strings.TrimSpace(group))])
}

// GroupCVX returns the CVX code that stands for a whole vaccine group (the
// "unspecified formulation" code CDC assigns to it, e.g. "45" for HepB,
// "107" for DTAP) and the group's name as CDC spells it. The group name is
// matched case-insensitively.
func GroupCVX(group string) (cvx, name string, ok bool) {
	t := load()
	lg := strings.ToLower(strings.TrimSpace(group))
	cvx, ok = t.groupCVX[lg]
	return cvx, t.groupNames[lg], ok
}

// SameGroup reports whether two CVX codes share a vaccine group, e.g. 45
// (HepB, unspecified) and 08 (HepB pediatric), or 110 (DTaP-HepB-IPV) and
// 10 (IPV).
func SameGroup(a, b string) bool {
	ga := load().cvx[normCVX(a)].Groups
	for _, g := range load().cvx[normCVX(b)].Groups {
		if slices.Contains(ga, g) {
			return true
		}
	}
	return false
}

// TableText returns the display text of code in one of the small HL7 and
// CDC tables, named by the coding system a CWE carries: "HL70357" (message
// error condition), "HL70533" (CDC application error code), "NIP001"
// (immunization information source), "NIP002" (refusal reason), "NIP003"
// (LOINC observation identifiers), "HL70322" (completion status), "HL70323"
// (action code), "HL70208" (query response status), "HL70516" (error
// severity), "HL70064" (VFC eligibility), "HL70163" (administrative site) and
// "NCIT" (route).
func TableText(table, code string) (string, bool) {
	s, ok := load().text[strings.ToUpper(table)][strings.TrimSpace(code)]
	return s, ok
}
