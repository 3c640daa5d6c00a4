package reconcile

import (
	"fmt"
	"slices"
	"testing"

	"github.com/iisync/iisync/transforms/iis/chart"
)

func ind(kind chart.IndicatorKind, code, cvx, date string, groups ...string) chart.Indicator {
	return chart.Indicator{Kind: kind, Code: code, CVX: cvx, Date: date, Groups: groups}
}

func briefIndicators(rows []IndicatorRow) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		s := fmt.Sprintf("%s %s", r.State, r.Kind)
		if r.Local != nil {
			s += fmt.Sprintf(" L=%s/%s/%s", r.Local.Code, r.Local.CVX, r.Local.Date)
		}
		if r.Registry != nil {
			s += fmt.Sprintf(" R=%s/%s/%s", r.Registry.Code, r.Registry.CVX, r.Registry.Date)
		}
		out = append(out, s)
	}
	return out
}

func TestIndicators(t *testing.T) {
	const (
		imm = chart.Immunity
		con = chart.Contraindication
		ref = chart.Refusal
	)
	tests := []struct {
		name            string
		local, registry []chart.Indicator
		want            []string
	}{
		{name: "empty", want: []string{}},
		{
			name:     "same kind and code",
			local:    []chart.Indicator{ind(imm, "38907003", "", "20150101", "VARICELLA")},
			registry: []chart.Indicator{ind(imm, " 38907003", "", "20160101", "VARICELLA")},
			want:     []string{"match immunity L=38907003//20150101 R= 38907003//20160101"},
		},
		{
			name:     "code case-insensitive",
			local:    []chart.Indicator{ind(con, "vxc30", "", "")},
			registry: []chart.Indicator{ind(con, "VXC30", "", "")},
			want:     []string{"match contraindication L=vxc30// R=VXC30//"},
		},
		{
			name:     "different kinds do not pair",
			local:    []chart.Indicator{ind(con, "00", "03", "")},
			registry: []chart.Indicator{ind(ref, "00", "03", "")},
			want:     []string{"local_only contraindication L=00/03/", "registry_only refusal R=00/03/"},
		},
		{
			name:     "refusals of different vaccine groups do not pair",
			local:    []chart.Indicator{ind(ref, "03", "10", "20240101")},
			registry: []chart.Indicator{ind(ref, "03", "03", "20240101")},
			want:     []string{"local_only refusal L=03/10/20240101", "registry_only refusal R=03/03/20240101"},
		},
		{
			name:     "groups from CVX, combination shares a group",
			local:    []chart.Indicator{ind(ref, "03", "110", "")},
			registry: []chart.Indicator{ind(ref, "03", "10", "")},
			want:     []string{"match refusal L=03/110/ R=03/10/"},
		},
		{
			name:     "one side without a vaccine pairs on code",
			local:    []chart.Indicator{ind(con, "VXC11", "", "")},
			registry: []chart.Indicator{ind(con, "VXC11", "10", "")},
			want:     []string{"match contraindication L=VXC11// R=VXC11/10/"},
		},
		{
			name:     "prefers the same date, pairs once",
			local:    []chart.Indicator{ind(ref, "03", "03", "20240301")},
			registry: []chart.Indicator{ind(ref, "03", "03", "20240101"), ind(ref, "03", "03", "20240301")},
			want:     []string{"match refusal L=03/03/20240301 R=03/03/20240301", "registry_only refusal R=03/03/20240101"},
		},
		{
			name:     "sorted by kind, code, state",
			local:    []chart.Indicator{ind(ref, "03", "03", ""), ind(imm, "B", "", ""), ind(imm, "A", "", "")},
			registry: []chart.Indicator{ind(con, "VXC19", "", ""), ind(imm, "B", "", "")},
			want: []string{
				"local_only immunity L=A//",
				"match immunity L=B// R=B//",
				"registry_only contraindication R=VXC19//",
				"local_only refusal L=03/03/",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := briefIndicators(Indicators(tc.local, tc.registry))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Indicators:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestIndicatorsCopies(t *testing.T) {
	local := []chart.Indicator{ind(chart.Refusal, "03", "03", "", "MMR")}
	rows := Indicators(local, nil)
	rows[0].Local.Groups[0] = "changed"
	if local[0].Groups[0] != "MMR" {
		t.Error("rows share memory with the input indicators")
	}
}
