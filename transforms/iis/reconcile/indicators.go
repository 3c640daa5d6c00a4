package reconcile

import (
	"cmp"
	"slices"
	"strings"

	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// IndicatorRow is one line of the Indicators tab: an immunity,
// contraindication or refusal both sides hold (Match), or one side only
// (LocalOnly, RegistryOnly).
type IndicatorRow struct {
	State State               `json:"state"`
	Kind  chart.IndicatorKind `json:"kind"`
	// Local and Registry are copies of the indicators; nil for the side
	// that lacks it.
	Local    *chart.Indicator `json:"local,omitempty"`
	Registry *chart.Indicator `json:"registry,omitempty"`
}

// Indicators pairs the two sides' indicators: the same kind and code (case
// and surrounding spaces ignored) and, when both name a vaccine (Groups, else
// the groups of CVX), a shared vaccine group — so a refusal of MMR does not
// pair with a refusal of polio for the same reason. Each indicator pairs at
// most once, preferably with one of the same date, else the first in input
// order. A pair is Match: indicators carry nothing else to differ on. Rows
// are sorted by kind (immunity, contraindication, refusal), code, state and
// date.
func Indicators(local, registry []chart.Indicator) []IndicatorRow {
	rGroups := make([][]string, len(registry))
	for j := range registry {
		rGroups[j] = indicatorGroups(&registry[j])
	}
	rPaired := make([]bool, len(registry))
	rows := make([]IndicatorRow, 0, len(local)+len(registry))
	for i := range local {
		l := &local[i]
		lg := indicatorGroups(l)
		best := -1
		for j := range registry {
			r := &registry[j]
			if rPaired[j] || l.Kind != r.Kind || !strings.EqualFold(strings.TrimSpace(l.Code), strings.TrimSpace(r.Code)) {
				continue
			}
			if len(lg) > 0 && len(rGroups[j]) > 0 && sharedGroups(lg, rGroups[j]) == 0 {
				continue
			}
			if best < 0 || (normDate(r.Date) == normDate(l.Date) && normDate(registry[best].Date) != normDate(l.Date)) {
				best = j
			}
		}
		row := IndicatorRow{State: LocalOnly, Kind: l.Kind, Local: copyIndicator(*l)}
		if best >= 0 {
			rPaired[best] = true
			row.State, row.Registry = Match, copyIndicator(registry[best])
		}
		rows = append(rows, row)
	}
	for j := range registry {
		if !rPaired[j] {
			rows = append(rows, IndicatorRow{State: RegistryOnly, Kind: registry[j].Kind, Registry: copyIndicator(registry[j])})
		}
	}
	slices.SortStableFunc(rows, func(a, b IndicatorRow) int {
		ai, bi := a.any(), b.any()
		return cmp.Or(
			cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			strings.Compare(strings.ToUpper(strings.TrimSpace(ai.Code)), strings.ToUpper(strings.TrimSpace(bi.Code))),
			cmp.Compare(a.State.rank(), b.State.rank()),
			strings.Compare(normDate(ai.Date), normDate(bi.Date)),
		)
	})
	return rows
}

// any returns the row's local indicator, else its registry one.
func (r IndicatorRow) any() *chart.Indicator {
	if r.Local != nil {
		return r.Local
	}
	return r.Registry
}

func indicatorGroups(in *chart.Indicator) []string {
	if len(in.Groups) > 0 {
		return in.Groups
	}
	return codes.Groups(in.CVX)
}

func kindRank(k chart.IndicatorKind) int {
	switch k {
	case chart.Immunity:
		return 0
	case chart.Contraindication:
		return 1
	case chart.Refusal:
		return 2
	}
	return 3
}

func copyIndicator(in chart.Indicator) *chart.Indicator {
	in.Groups = slices.Clone(in.Groups)
	return &in
}
