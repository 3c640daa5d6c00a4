package reconcile

import (
	"cmp"
	"slices"
	"strings"

	"github.com/iisync/iisync/transforms/iis/chart"
)

// Options tunes Compare.
type Options struct {
	// DayWindow is how many days apart two doses of the same vaccine group
	// may be and still pair, as "differs" with a date difference (the IWeb
	// "dedup vaccination threshold"; DEDUP uses 23 for candidates). Zero,
	// the default, pairs same-day doses only; negative values count as 0.
	DayWindow int
}

// State is how a row's dose stands between the two sides. It marshals to
// JSON as its lower-case string.
type State string

// The four states of a Row, in their sort order.
const (
	// Match is the same vaccine group on the same date, with no
	// differences.
	Match State = "match"
	// Differs is the same event with differences (see Row.Differences).
	Differs State = "differs"
	// LocalOnly is a dose in the local chart that the registry lacks.
	LocalOnly State = "local_only"
	// RegistryOnly is a dose in the registry that the local chart lacks.
	RegistryOnly State = "registry_only"
)

// Color returns the Sync Registry window's colour for the state: "white"
// for Match and Differs (which also shows a difference flag), "blue" for
// LocalOnly, "yellow" for RegistryOnly, "" for anything else.
func (s State) Color() string {
	switch s {
	case Match, Differs:
		return "white"
	case LocalOnly:
		return "blue"
	case RegistryOnly:
		return "yellow"
	}
	return ""
}

// rank orders states within one date and group.
func (s State) rank() int {
	switch s {
	case Match:
		return 0
	case Differs:
		return 1
	case LocalOnly:
		return 2
	case RegistryOnly:
		return 3
	}
	return 4
}

// Row is one line of the Sync Registry window: a pair of doses (Match,
// Differs) or a dose of one side (LocalOnly, RegistryOnly).
type Row struct {
	State State `json:"state"`
	// Groups are the CDC vaccine groups of the dose, or of both doses of a
	// pair (the local dose's first, then any others of the registry's).
	Groups []string `json:"groups,omitempty"`
	// Date is the dose's date, "YYYYMMDD"; the local dose's for a pair.
	Date string `json:"date"`
	// Local and Registry are copies of the doses, as the sides sent them;
	// nil for the side that lacks the dose.
	Local    *chart.Dose `json:"local,omitempty"`
	Registry *chart.Dose `json:"registry,omitempty"`
	// Differences lists, for Differs, the fields that disagree.
	Differences []Difference `json:"differences,omitempty"`
}

// Difference is one field on which the two doses of a pair disagree.
type Difference struct {
	// Field is "cvx", "date", "ndc", "lot", "mvx", "amount", "source",
	// "completion" or "facility".
	Field string `json:"field"`
	// Local and Registry are the two values, normalised (canonical CVX,
	// YYYYMMDD date, 5-4-2 NDC, upper-case lot and MVX, numeric amount,
	// NIP001 code as sent, CP for an empty completion status).
	Local    string `json:"local"`
	Registry string `json:"registry"`
}

// Counts are the number of rows in each state.
type Counts struct {
	Match        int `json:"match"`
	Differs      int `json:"differs"`
	LocalOnly    int `json:"local_only"`
	RegistryOnly int `json:"registry_only"`
}

// Summary counts the rows of each state.
func Summary(rows []Row) Counts {
	var c Counts
	for _, r := range rows {
		switch r.State {
		case Match:
			c.Match++
		case Differs:
			c.Differs++
		case LocalOnly:
			c.LocalOnly++
		case RegistryOnly:
			c.RegistryOnly++
		}
	}
	return c
}

// Compare pairs the local chart's doses with the registry's and returns one
// row per pair or unpaired dose, sorted by date, then vaccine groups
// (case-insensitively), then state (match, differs, local_only,
// registry_only). The rules are in the package documentation. The inputs
// are not modified.
func Compare(local, registry []chart.Dose, o Options) []Row {
	ls, rs := prepare(local), prepare(registry)
	lPaired := make([]bool, len(ls))
	rPaired := make([]bool, len(rs))
	rows := make([]Row, 0, len(ls)+len(rs))

	window := max(o.DayWindow, 0)
	for pass := 1; pass <= 3; pass++ {
		if pass == 3 && window == 0 {
			break
		}
		var cands []candidate
		for i := range ls {
			if lPaired[i] {
				continue
			}
			for j := range rs {
				if rPaired[j] {
					continue
				}
				if c, ok := pairable(pass, &ls[i], &rs[j], window); ok {
					c.l, c.r = i, j
					cands = append(cands, c)
				}
			}
		}
		slices.SortFunc(cands, func(a, b candidate) int {
			return cmp.Or(
				cmp.Compare(a.dist, b.dist),
				cmp.Compare(b.shared, a.shared),
				cmp.Compare(len(a.diffs), len(b.diffs)),
				strings.Compare(ls[a.l].d.ID, ls[b.l].d.ID),
				strings.Compare(rs[a.r].d.ID, rs[b.r].d.ID),
				cmp.Compare(a.l, b.l),
				cmp.Compare(a.r, b.r),
			)
		})
		for _, c := range cands {
			if lPaired[c.l] || rPaired[c.r] {
				continue
			}
			lPaired[c.l], rPaired[c.r] = true, true
			rows = append(rows, pairRow(&ls[c.l], &rs[c.r], c.diffs))
		}
	}
	for i := range ls {
		if !lPaired[i] {
			rows = append(rows, Row{State: LocalOnly, Groups: ls[i].groups, Date: ls[i].date, Local: copyDose(ls[i].d)})
		}
	}
	for j := range rs {
		if !rPaired[j] {
			rows = append(rows, Row{State: RegistryOnly, Groups: rs[j].groups, Date: rs[j].date, Registry: copyDose(rs[j].d)})
		}
	}
	slices.SortStableFunc(rows, compareRows)
	return rows
}

// candidate is a possible pair of one pass.
type candidate struct {
	l, r   int
	dist   int // days apart
	shared int // vaccine groups in common
	diffs  []Difference
}

// pairable reports whether l and r may pair in the given pass.
func pairable(pass int, l, r *normDose, window int) (candidate, bool) {
	var c candidate
	switch pass {
	case 1: // same vaccine, same day
		if l.cvx == "" || l.cvx != r.cvx || l.date != r.date {
			return c, false
		}
	case 2: // same group, same day
		if l.date != r.date {
			return c, false
		}
	case 3: // same group, within the window
		if !l.dayOK || !r.dayOK {
			return c, false
		}
		c.dist = l.day - r.day
		if c.dist < 0 {
			c.dist = -c.dist
		}
		if c.dist > window {
			return c, false
		}
	}
	c.shared = sharedGroups(l.groups, r.groups)
	if pass > 1 && c.shared == 0 {
		return c, false
	}
	c.diffs = differences(l, r)
	return c, true
}

// differences lists the fields present on both sides that disagree.
func differences(l, r *normDose) []Difference {
	var ds []Difference
	add := func(field, lv, rv string, same bool) {
		if lv != "" && rv != "" && !same {
			ds = append(ds, Difference{Field: field, Local: lv, Registry: rv})
		}
	}
	add("cvx", l.cvx, r.cvx, l.cvx == r.cvx)
	add("date", l.date, r.date, l.date == r.date)
	add("ndc", l.ndc, r.ndc, l.ndc == r.ndc)
	add("lot", l.lot, r.lot, l.lot == r.lot)
	add("mvx", l.mvx, r.mvx, l.mvx == r.mvx)
	add("amount", l.amount, r.amount, l.amount == r.amount)
	lc, rc := sourceCategory(l.source), sourceCategory(r.source)
	if lc != "" && rc != "" && l.source != chart.SourceFromRegistry {
		add("source", l.source, r.source, lc == rc)
	}
	add("completion", l.completion, r.completion, l.completion == r.completion)
	add("facility", l.facility, r.facility, strings.EqualFold(l.facility, r.facility))
	return ds
}

func pairRow(l, r *normDose, diffs []Difference) Row {
	row := Row{State: Match, Date: l.date, Local: copyDose(l.d), Registry: copyDose(r.d)}
	row.Groups = slices.Clone(l.groups)
	for _, g := range r.groups {
		if !slices.Contains(row.Groups, g) {
			row.Groups = append(row.Groups, g)
		}
	}
	if len(diffs) > 0 {
		row.State = Differs
		row.Differences = diffs
	}
	return row
}

func copyDose(d chart.Dose) *chart.Dose {
	d.Reactions = slices.Clone(d.Reactions)
	return &d
}

func compareRows(a, b Row) int {
	return cmp.Or(
		strings.Compare(a.Date, b.Date),
		compareGroups(a.Groups, b.Groups),
		cmp.Compare(a.State.rank(), b.State.rank()),
		strings.Compare(id(a.Local), id(b.Local)),
		strings.Compare(id(a.Registry), id(b.Registry)),
	)
}

// compareGroups orders group lists element by element, case-insensitively
// ("HepB" sorts between "HepA" and "HIB").
func compareGroups(a, b []string) int {
	return slices.CompareFunc(a, b, func(x, y string) int {
		return strings.Compare(strings.ToUpper(x), strings.ToUpper(y))
	})
}

func id(d *chart.Dose) string {
	if d == nil {
		return ""
	}
	return d.ID
}
