package reconcile

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis/chart"
)

func TestSelect(t *testing.T) {
	rows := []Row{{State: Match}, {State: LocalOnly}, {State: Differs}, {State: RegistryOnly}, {State: RegistryOnly}}
	tests := []struct {
		which string
		want  []int
	}{
		{SelectAll, []int{0, 1, 2, 3, 4}},
		{SelectMatching, []int{0, 2}},
		{SelectLocalOnly, []int{1}},
		{SelectRegistryOnly, []int{3, 4}},
		{"match", nil},
		{"", nil},
		{"ALL", nil},
	}
	for _, tc := range tests {
		t.Run(tc.which, func(t *testing.T) {
			if got := Select(rows, tc.which); !slices.Equal(got, tc.want) {
				t.Errorf("Select(%q) = %v, want %v", tc.which, got, tc.want)
			}
		})
	}
	if got := Select(nil, SelectAll); got != nil {
		t.Errorf("Select(nil) = %v, want nil", got)
	}
}

func TestCheckReconcile(t *testing.T) {
	tests := []struct {
		name            string
		local, registry chart.Dose
		want            error
	}{
		{"historical, same group", chart.Dose{CVX: "08", Source: "01"}, chart.Dose{CVX: "45"}, nil},
		{"historical, combination", chart.Dose{CVX: "10", Source: "03"}, chart.Dose{CVX: "110"}, nil},
		{"historical, NDC only", chart.Dose{NDC: "58160-0820-01", Source: "02"}, chart.Dose{CVX: "08"}, nil},
		{"different groups", chart.Dose{CVX: "10", Source: "01"}, chart.Dose{CVX: "106"}, ErrDifferentGroup},
		{"unknown vaccine", chart.Dose{CVX: "", Source: "01"}, chart.Dose{CVX: "08"}, ErrDifferentGroup},
		{"not a vaccine", chart.Dose{CVX: "998", Source: "01"}, chart.Dose{CVX: "998"}, ErrDifferentGroup},
		{"administered here", chart.Dose{CVX: "08", Source: "00"}, chart.Dose{CVX: "08"}, ErrAdministered},
		{"no source means administered", chart.Dose{CVX: "08"}, chart.Dose{CVX: "08"}, ErrAdministered},
		{"group checked first", chart.Dose{CVX: "08", Source: "00"}, chart.Dose{CVX: "03"}, ErrDifferentGroup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckReconcile(tc.local, tc.registry); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Errorf("CheckReconcile = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	for _, err := range []error{ErrDifferentGroup, ErrAdministered} {
		if s := err.Error(); !strings.HasPrefix(s, "reconcile: ") || strings.HasSuffix(s, ".") {
			t.Errorf("error %q: want the package prefix and no final period", s)
		}
	}
}
