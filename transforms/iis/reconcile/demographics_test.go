package reconcile

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis/chart"
)

// TestDemographicsFieldTable keeps demoFields in step with chart.Demographics:
// every field, in struct order, with its JSON name, and a getter that reads it.
func TestDemographicsFieldTable(t *testing.T) {
	typ := reflect.TypeFor[chart.Demographics]()
	var want []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		want = append(want, name)
	}
	var got []string
	for _, f := range demoFields {
		got = append(got, f.field)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("demoFields = %q\nchart.Demographics = %q", got, want)
	}
	// Each getter reads its own field: set field i to a marker and
	// expect only getter i to see it.
	for i := range typ.NumField() {
		var d chart.Demographics
		reflect.ValueOf(&d).Elem().Field(i).SetString("marker")
		for j, f := range demoFields {
			if got := f.get(&d) == "marker"; got != (i == j) {
				t.Errorf("getter %s reads field %s: %v", f.field, typ.Field(i).Name, got)
			}
		}
	}
}

func TestDemographics(t *testing.T) {
	tests := []struct {
		name            string
		local, registry chart.Demographics
		want            []FieldDiff
	}{
		{name: "both empty", want: nil},
		{
			name:     "names case and spaces",
			local:    chart.Demographics{Family: "Vazquez", Given: "Juana", Middle: "Mariana"},
			registry: chart.Demographics{Family: " VAZQUEZ ", Given: "juana", Middle: "Maria"},
			want: []FieldDiff{
				{"family", "Family name", "Vazquez", " VAZQUEZ ", true},
				{"given", "Given name", "Juana", "juana", true},
				{"middle", "Middle name", "Mariana", "Maria", false},
			},
		},
		{
			name:     "present on one side only",
			local:    chart.Demographics{MotherMaiden: "Acosta"},
			registry: chart.Demographics{Suffix: "Jr"},
			want: []FieldDiff{
				{"suffix", "Suffix", "", "Jr", false},
				{"mother_maiden", "Mother's maiden name", "Acosta", "", false},
			},
		},
		{
			name:     "birth date first 8 digits, sex upper-case",
			local:    chart.Demographics{BirthDate: "20131101", Sex: "f"},
			registry: chart.Demographics{BirthDate: "201311011105", Sex: "F"},
			want: []FieldDiff{
				{"birth_date", "Birth date", "20131101", "201311011105", true},
				{"sex", "Sex", "f", "F", true},
			},
		},
		{
			name:     "street collapsed, zip first 5, phone digits",
			local:    chart.Demographics{Street: "4345  Standish Way", Zip: "06903", Phone: "(203) 555-1212"},
			registry: chart.Demographics{Street: "4345 STANDISH WAY", Zip: "06903-1234", Phone: "12035551212"},
			want: []FieldDiff{
				{"street", "Street", "4345  Standish Way", "4345 STANDISH WAY", true},
				{"zip", "ZIP code", "06903", "06903-1234", true},
				{"phone", "Phone", "(203) 555-1212", "12035551212", true},
			},
		},
		{
			name:     "zip and phone differ",
			local:    chart.Demographics{Zip: "06903", Phone: "2035551212"},
			registry: chart.Demographics{Zip: "06901", Phone: "2035551213"},
			want: []FieldDiff{
				{"zip", "ZIP code", "06903", "06901", false},
				{"phone", "Phone", "2035551212", "2035551213", false},
			},
		},
		{
			name: "codes, birth order, guardian, PD1",
			local: chart.Demographics{Race: "2106-3", Ethnicity: "2135-2", MultipleBirth: "n", BirthOrder: "1",
				GuardianFamily: "Vazquez", GuardianGiven: "Joanna", GuardianRelation: "GRD", Publicity: "02", Protection: "N"},
			registry: chart.Demographics{Race: "2106-3", Ethnicity: "2186-5", MultipleBirth: "N", BirthOrder: "01",
				GuardianFamily: "VAZQUEZ", GuardianGiven: "Joanna", GuardianRelation: "MTH", RegistryStatus: "A"},
			want: []FieldDiff{
				{"race", "Race", "2106-3", "2106-3", true},
				{"ethnicity", "Ethnicity", "2135-2", "2186-5", false},
				{"multiple_birth", "Multiple birth", "n", "N", true},
				{"birth_order", "Birth order", "1", "01", true},
				{"guardian_family", "Guardian family name", "Vazquez", "VAZQUEZ", true},
				{"guardian_given", "Guardian given name", "Joanna", "Joanna", true},
				{"guardian_relation", "Guardian relationship", "GRD", "MTH", false},
				{"publicity", "Publicity code", "02", "", false},
				{"protection", "Protection indicator", "N", "", false},
				{"registry_status", "Registry status", "", "A", false},
			},
		},
		{
			name:     "city, state, country case-insensitive",
			local:    chart.Demographics{City: "Stamford", State: "CT", Country: "USA"},
			registry: chart.Demographics{City: "STAMFORD", State: "ct", Country: "US"},
			want: []FieldDiff{
				{"city", "City", "Stamford", "STAMFORD", true},
				{"state", "State", "CT", "ct", true},
				{"country", "Country", "USA", "US", false},
			},
		},
		{
			name:     "blank is absent",
			local:    chart.Demographics{Given: "  "},
			registry: chart.Demographics{Given: ""},
			want:     nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Demographics(tc.local, tc.registry)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Demographics:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
