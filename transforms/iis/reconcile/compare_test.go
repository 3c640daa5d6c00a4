package reconcile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis/chart"
)

// dose builds a test dose; opts set the other fields.
func dose(id, date, cvx string, opts ...func(*chart.Dose)) chart.Dose {
	d := chart.Dose{ID: id, Date: date, CVX: cvx}
	for _, o := range opts {
		o(&d)
	}
	return d
}

func lot(s string) func(*chart.Dose)        { return func(d *chart.Dose) { d.Lot = s } }
func mvx(s string) func(*chart.Dose)        { return func(d *chart.Dose) { d.MVX = s } }
func ndc(s string) func(*chart.Dose)        { return func(d *chart.Dose) { d.NDC = s } }
func amount(s string) func(*chart.Dose)     { return func(d *chart.Dose) { d.Amount = s } }
func source(s string) func(*chart.Dose)     { return func(d *chart.Dose) { d.Source = s } }
func completion(s string) func(*chart.Dose) { return func(d *chart.Dose) { d.Completion = s } }
func facility(s string) func(*chart.Dose)   { return func(d *chart.Dose) { d.Facility = s } }

// brief renders rows compactly: "state date groups L=id R=id diff,diff".
func brief(rows []Row) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		s := fmt.Sprintf("%s %s %s", r.State, r.Date, strings.Join(r.Groups, "+"))
		if r.Local != nil {
			s += " L=" + r.Local.ID
		}
		if r.Registry != nil {
			s += " R=" + r.Registry.ID
		}
		for i, d := range r.Differences {
			sep := ","
			if i == 0 {
				sep = " "
			}
			s += sep + d.Field + ":" + d.Local + "/" + d.Registry
		}
		out = append(out, s)
	}
	return out
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name            string
		local, registry []chart.Dose
		opt             Options
		want            []string
	}{
		{
			name: "empty sides",
			want: []string{},
		},
		{
			name:  "local only",
			local: []chart.Dose{dose("a", "20240101", "08")},
			want:  []string{"local_only 20240101 HepB L=a"},
		},
		{
			name:     "registry only",
			registry: []chart.Dose{dose("x", "20240101", "08")},
			want:     []string{"registry_only 20240101 HepB R=x"},
		},
		{
			name:     "exact match after normalisation",
			local:    []chart.Dose{dose("a", "20240101", "08", lot(" ab12 "), mvx("skb"), amount(".5"), ndc("58160-820-1"))},
			registry: []chart.Dose{dose("x", "202401011030-0500", "8", lot("AB12"), mvx("SKB"), amount("0.5"), ndc("58160082001"))},
			want:     []string{"match 20240101 HepB L=a R=x"},
		},
		{
			name:     "same group same date is a cvx difference",
			local:    []chart.Dose{dose("a", "20131220", "08")},
			registry: []chart.Dose{dose("x", "20131220", "45")},
			want:     []string{"differs 20131220 HepB L=a R=x cvx:08/45"},
		},
		{
			name:     "same vaccine beats same group",
			local:    []chart.Dose{dose("a", "20240101", "08")},
			registry: []chart.Dose{dose("r1", "20240101", "45"), dose("r2", "20240101", "08")},
			want:     []string{"match 20240101 HepB L=a R=r2", "registry_only 20240101 HepB R=r1"},
		},
		{
			name:     "different groups same date do not pair",
			local:    []chart.Dose{dose("a", "20150221", "10")},
			registry: []chart.Dose{dose("x", "20150221", "106")},
			want:     []string{"registry_only 20150221 DTAP R=x", "local_only 20150221 POLIO L=a"},
		},
		{
			name:     "window zero is exact date only",
			local:    []chart.Dose{dose("a", "20240101", "10")},
			registry: []chart.Dose{dose("x", "20240105", "10")},
			want:     []string{"local_only 20240101 POLIO L=a", "registry_only 20240105 POLIO R=x"},
		},
		{
			name:     "within window differs by date",
			local:    []chart.Dose{dose("a", "20240101", "10")},
			registry: []chart.Dose{dose("x", "20240105", "10")},
			opt:      Options{DayWindow: 4},
			want:     []string{"differs 20240101 POLIO L=a R=x date:20240101/20240105"},
		},
		{
			name:     "outside window",
			local:    []chart.Dose{dose("a", "20240101", "10")},
			registry: []chart.Dose{dose("x", "20240105", "10")},
			opt:      Options{DayWindow: 3},
			want:     []string{"local_only 20240101 POLIO L=a", "registry_only 20240105 POLIO R=x"},
		},
		{
			name:     "negative window is zero",
			local:    []chart.Dose{dose("a", "20240101", "10")},
			registry: []chart.Dose{dose("x", "20240102", "10")},
			opt:      Options{DayWindow: -5},
			want:     []string{"local_only 20240101 POLIO L=a", "registry_only 20240102 POLIO R=x"},
		},
		{
			name:     "window pairs the closest dates first",
			local:    []chart.Dose{dose("a", "20240101", "10"), dose("b", "20240110", "10")},
			registry: []chart.Dose{dose("x", "20240108", "10")},
			opt:      Options{DayWindow: 10},
			want:     []string{"local_only 20240101 POLIO L=a", "differs 20240110 POLIO L=b R=x date:20240110/20240108"},
		},
		{
			name:     "window across a month and group change of CVX",
			local:    []chart.Dose{dose("a", "20240130", "106")},
			registry: []chart.Dose{dose("x", "20240202", "107")},
			opt:      Options{DayWindow: 3},
			want:     []string{"differs 20240130 DTAP L=a R=x cvx:106/107,date:20240130/20240202"},
		},
		{
			name:     "combination vaccine pairs with one dose of its groups",
			local:    []chart.Dose{dose("a", "20240101", "110")},
			registry: []chart.Dose{dose("r3", "20240101", "10"), dose("r2", "20240101", "106"), dose("r1", "20240101", "08")},
			want: []string{
				"registry_only 20240101 DTAP R=r2",
				"differs 20240101 DTAP+HepB+POLIO L=a R=r1 cvx:110/08",
				"registry_only 20240101 POLIO R=r3",
			},
		},
		{
			name:     "separate HepB against a registry combination",
			local:    []chart.Dose{dose("a", "20240101", "08")},
			registry: []chart.Dose{dose("x", "20240101", "110")},
			want:     []string{"differs 20240101 HepB+DTAP+POLIO L=a R=x cvx:08/110"},
		},
		{
			name:     "combination prefers the dose sharing more groups",
			local:    []chart.Dose{dose("a", "20240101", "110")},
			registry: []chart.Dose{dose("r1", "20240101", "08"), dose("r2", "20240101", "146")},
			want: []string{
				"differs 20240101 DTAP+HepB+POLIO+HIB L=a R=r2 cvx:110/146",
				"registry_only 20240101 HepB R=r1",
			},
		},
		{
			name: "not doses are excluded",
			local: []chart.Dose{
				dose("na", "20240101", "03", completion("NA")),
				dose("re", "20240101", "03", completion(" re")),
				dose("nv", "20240101", "998"),
				dose("ok", "20240101", "03", completion("CP")),
			},
			registry: []chart.Dose{
				dose("fc", "20240101", "998", completion("NA")),
				dose("x", "20240101", "03"),
				dose("fc2", "20181031", "998"),
			},
			want: []string{"match 20240101 MMR L=ok R=x"},
		},
		{
			name:     "ties broken by ID",
			local:    []chart.Dose{dose("b", "20240101", "08"), dose("a", "20240101", "08")},
			registry: []chart.Dose{dose("y", "20240101", "08"), dose("x", "20240101", "08")},
			want:     []string{"match 20240101 HepB L=a R=x", "match 20240101 HepB L=b R=y"},
		},
		{
			name:     "ties prefer fewer differences",
			local:    []chart.Dose{dose("a", "20240101", "08", lot("L1"))},
			registry: []chart.Dose{dose("r1", "20240101", "08", lot("L2")), dose("r2", "20240101", "08", lot("L1"))},
			want:     []string{"match 20240101 HepB L=a R=r2", "registry_only 20240101 HepB R=r1"},
		},
		{
			name:     "NDC gives the CVX when it is missing",
			local:    []chart.Dose{dose("a", "20131220", "", ndc("58160-0820-01"))},
			registry: []chart.Dose{dose("x", "20131220", "08")},
			want:     []string{"match 20131220 HepB L=a R=x"},
		},
		{
			name: "field differences",
			local: []chart.Dose{dose("a", "20240101", "08", lot("L1"), mvx("SKB"), ndc("58160-0820-01"),
				amount("0.5"), source("00"), completion("PA"), facility("Clinic A"))},
			registry: []chart.Dose{dose("x", "20240101", "08", lot("L2"), mvx("MSD"), ndc("58160-0820-11"),
				amount("1"), source("01"), facility("clinic b"))},
			want: []string{"differs 20240101 HepB L=a R=x " +
				"ndc:58160-0820-01/58160-0820-11,lot:L1/L2,mvx:SKB/MSD,amount:0.5/1," +
				"source:00/01,completion:PA/CP,facility:Clinic A/clinic b"},
		},
		{
			name:     "absent fields are not differences",
			local:    []chart.Dose{dose("a", "20240101", "08", lot("L1"), amount("999"), source("00"), facility("A"))},
			registry: []chart.Dose{dose("x", "20240101", "08", mvx("SKB"), ndc("58160-0820-11"), amount("0.5"))},
			want:     []string{"match 20240101 HepB L=a R=x"},
		},
		{
			name: "source compares administered against historical only",
			local: []chart.Dose{
				dose("a", "20240101", "08", source("01")),
				dose("b", "20240201", "08", source("00")),
				dose("c", "20240301", "08", source("N")),
			},
			registry: []chart.Dose{
				dose("x", "20240101", "08", source("03")),
				dose("y", "20240201", "08", source("")),
				dose("z", "20240301", "08", source("00")),
			},
			want: []string{
				"match 20240101 HepB L=a R=x",
				"match 20240201 HepB L=b R=y",
				"match 20240301 HepB L=c R=z",
			},
		},
		{
			name:     "facility case and spacing",
			local:    []chart.Dose{dose("a", "20240101", "08", facility(" DCS_DC "))},
			registry: []chart.Dose{dose("x", "20240101", "08", facility("dcs_dc"))},
			want:     []string{"match 20240101 HepB L=a R=x"},
		},
		{
			name:     "unknown vaccines pair only on the same code",
			local:    []chart.Dose{dose("a", "20240101", "08765"), dose("b", "20240101", "")},
			registry: []chart.Dose{dose("x", "20240101", "8765"), dose("y", "20240101", "")},
			want: []string{
				"match 20240101  L=a R=x",
				"local_only 20240101  L=b",
				"registry_only 20240101  R=y",
			},
		},
		{
			name: "rows sorted by date, group, state",
			local: []chart.Dose{
				dose("a", "20240301", "10"),
				dose("b", "20240101", "03"),
				dose("c", "20240101", "08"),
			},
			registry: []chart.Dose{
				dose("x", "20240101", "08"),
				dose("y", "20240201", "83"),
				dose("z", "20240101", "03", lot("Q")),
			},
			want: []string{
				"match 20240101 HepB L=c R=x",
				"match 20240101 MMR L=b R=z",
				"registry_only 20240201 HepA R=y",
				"local_only 20240301 POLIO L=a",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := brief(Compare(tc.local, tc.registry, tc.opt))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Compare:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCompareCopies(t *testing.T) {
	local := []chart.Dose{{ID: "a", Date: "20240101", CVX: "10", Reactions: []string{"VXC12"}}}
	registry := []chart.Dose{{ID: "x", Date: "20240101", CVX: "10", Reactions: []string{"VXC11"}}}
	rows := Compare(local, registry, Options{})
	if len(rows) != 1 || rows[0].Local == nil || rows[0].Registry == nil {
		t.Fatalf("Compare: got %q", brief(rows))
	}
	rows[0].Local.Reactions[0] = "changed"
	rows[0].Registry.Lot = "changed"
	if local[0].Reactions[0] != "VXC12" || registry[0].Lot != "" {
		t.Error("rows share memory with the input doses")
	}
}

func TestStateColor(t *testing.T) {
	tests := []struct {
		s     State
		color string
		json  string
	}{
		{Match, "white", `"match"`},
		{Differs, "white", `"differs"`},
		{LocalOnly, "blue", `"local_only"`},
		{RegistryOnly, "yellow", `"registry_only"`},
		{State("bogus"), "", `"bogus"`},
	}
	for _, tc := range tests {
		t.Run(string(tc.s), func(t *testing.T) {
			if got := tc.s.Color(); got != tc.color {
				t.Errorf("Color() = %q, want %q", got, tc.color)
			}
			b, err := json.Marshal(tc.s)
			if err != nil || string(b) != tc.json {
				t.Errorf("json = %s, %v; want %s", b, err, tc.json)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	rows := []Row{{State: Match}, {State: Differs}, {State: Differs}, {State: LocalOnly}, {State: RegistryOnly}, {State: RegistryOnly}, {State: RegistryOnly}}
	want := Counts{Match: 1, Differs: 2, LocalOnly: 1, RegistryOnly: 3}
	if got := Summary(rows); got != want {
		t.Errorf("Summary = %+v, want %+v", got, want)
	}
	if got := Summary(nil); got != (Counts{}) {
		t.Errorf("Summary(nil) = %+v", got)
	}
	b, _ := json.Marshal(want)
	if string(b) != `{"match":1,"differs":2,"local_only":1,"registry_only":3}` {
		t.Errorf("Counts json = %s", b)
	}
}

// TestImportedSourceIsNotADifference: a dose imported from the registry
// (RXA-9 05) matches the registry's administered record exactly, while a
// parent-reported one (03) differs on its source.
func TestImportedSourceIsNotADifference(t *testing.T) {
	reg := []chart.Dose{{ID: "R1", Date: "20250115", CVX: "08", Source: "00"}}
	for _, tc := range []struct {
		source string
		want   State
	}{{"05", Match}, {"03", Differs}, {"", Match}} {
		rows := Compare([]chart.Dose{{ID: "L1", Date: "20250115", CVX: "08", Source: tc.source}}, reg, Options{})
		if len(rows) != 1 || rows[0].State != tc.want {
			t.Errorf("local source %q: rows %+v, want one %s", tc.source, rows, tc.want)
		}
	}
}
