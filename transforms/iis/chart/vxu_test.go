package chart

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

var vxuTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// canaryPatient uses the test markers of STYLE.md §7 and values holding
// every delimiter, so that escaping is exercised.
var canaryPatient = Demographics{
	Family: "ZZTESTFAMILY", Given: "ZZTEST^GIVEN", Middle: "Q", Suffix: "JR",
	MotherMaiden: "ZZTESTMOTHER", MotherGiven: "ANNE",
	BirthDate: "20200101", Sex: "F", Race: "2106-3", Ethnicity: "2186-5",
	Street: `1 Main St | Apt ~2 & \3`, City: "Bozeman", State: "MT", Zip: "59715", Country: "USA",
	Phone: "4065551234", MultipleBirth: "Y", BirthOrder: "2",
	GuardianFamily: "ZZTESTFAMILY", GuardianGiven: "MARIA", GuardianRelation: "MTH",
	Publicity: "02", Protection: "N", RegistryStatus: "A",
}

func TestVXURoundTrip(t *testing.T) {
	key := Key{Facility: "ZZTESTCLINIC", MRN: "PAT123"}
	administered := Dose{ID: "D-1", Date: "20250101", CVX: "08", NDC: "58160-0820-11", Text: "ENGERIX-B",
		Amount: "0.5", Units: "mL", Source: "00", Lot: "L&1^2", Expiry: "20260101", MVX: "SKB",
		Completion: "CP", Facility: "ZZTEST Clinic|1", Route: "C28161", Site: "LT", Funding: "V02"}
	historical := Dose{ID: "rxa:20240101:45", Date: "20240101", CVX: "45", Amount: "999", Source: "01", Completion: "CP"}
	tests := []struct {
		name  string
		chart Chart
		opts  VXUOptions
	}{
		{"administered and historical", Chart{Key: key, Patient: canaryPatient,
			Doses: []Dose{historical, administered}}, VXUOptions{}},
		{"minimal patient, defaults", Chart{Key: key, Patient: Demographics{Family: "ZZTEST", BirthDate: "20200101"},
			Doses: []Dose{{ID: "x", Date: "20250202", CVX: "03"}}}, VXUOptions{}},
		{"NDC not in table", Chart{Key: key,
			Doses: []Dose{{ID: "n", Date: "20250202", NDC: "99999-9999-99", Amount: "1", Completion: "PA", Funding: "PHC70"}}},
			VXUOptions{SendingApp: "IISYNC"}},
		{"partial phone, registry ID", Chart{Key: key, RegistryID: "R^77", Patient: Demographics{Phone: "5551234", Given: "ZZTEST"},
			Doses: []Dose{administered}}, VXUOptions{IncludeRegistryID: true, Action: "u"}},
		{"import as historical from registry", Chart{Key: key, Patient: canaryPatient,
			Doses: []Dose{administered, historical}}, VXUOptions{Source: "05", ReceivingApp: "EHR"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Time = vxuTime
			b, err := VXU(&tc.chart, tc.chart.Doses, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "\n") || !strings.HasSuffix(string(b), "\r") {
				t.Error("segments must be separated by CR only")
			}
			m, err := hl7.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]string{"MSH-9": "VXU^V04^VXU_V04", "MSH-12": "2.5.1", "MSH-21": "Z22^CDCPHINVS"} {
				if got := m.Value(path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			got := Chart{Key: tc.chart.Key}
			if err := Apply(&got, m); err != nil {
				t.Fatal(err)
			}
			if got.Patient != tc.chart.Patient {
				t.Errorf("patient = %+v\nwant      %+v", got.Patient, tc.chart.Patient)
			}
			if tc.opts.IncludeRegistryID && got.RegistryID != tc.chart.RegistryID {
				t.Errorf("registry id = %q", got.RegistryID)
			}
			want := slices.Clone(tc.chart.Doses)
			slices.SortFunc(want, cmpDose)
			if len(got.Doses) != len(want) {
				t.Fatalf("doses = %v, want %d", ids(&got), len(want))
			}
			for i, w := range want {
				if w.Amount == "" {
					w.Amount = "999"
				}
				if w.Completion == "" {
					w.Completion = "CP"
				}
				if tc.opts.Source != "" {
					w.Source = tc.opts.Source
				}
				if !w.Administered() {
					w.Funding = ""
				}
				if v, ok := codes.LookupCVX(w.CVX); ok && w.Text == "" { // VXU writes the CVX's short name
					w.Text = v.Short
				}
				w.Updated = vxuTime
				if !equalDose(got.Doses[i], w) {
					t.Errorf("dose %d = %+v\nwant     %+v", i, got.Doses[i], w)
				}
			}
		})
	}
}

func TestVXUDelete(t *testing.T) {
	tests := []struct {
		name    string
		steps   []step
		deleted int // how many of the chart's first doses to delete
	}{
		{"order numbers", []step{{file: fileAD1}}, 2},
		{"synthetic IDs", []step{{file: fileMarina}}, 3},
		{"all", []step{{file: fileAD5}}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Chart
			applyAll(t, &c, tc.steps)
			gone, kept := slices.Clone(c.Doses[:tc.deleted]), ids(&c)[tc.deleted:]
			b, err := VXU(&c, gone, VXUOptions{Action: "D", Time: vxuTime, SendingApp: "IISYNC"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := hl7.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := Apply(&c, m); err != nil {
				t.Fatal(err)
			}
			if got := ids(&c); !slices.Equal(got, kept) {
				t.Errorf("ids = %v, want %v", got, kept)
			}
		})
	}
}

func TestVXUSegments(t *testing.T) {
	c := Chart{Key: Key{Facility: "ZZTESTCLINIC", MRN: "PAT123"}, RegistryID: "R1",
		Patient: Demographics{Family: "ZZTESTFAMILY", Given: "ZZTESTGIVEN", BirthDate: "20200101", Sex: "F", Phone: "4065551234"}}
	doses := []Dose{
		{ID: "D1", Date: "20250101", CVX: "08", Amount: "0.5", Units: "mL", Source: "00", Lot: "L1", MVX: "SKB", Route: "C28161", Site: "LT", Funding: "V04", Facility: "CLINIC"},
		{ID: "D2", Date: "20250101", CVX: "21", Completion: "RE", Refusal: "00", Source: "00", Amount: "0.5"},
	}
	b, err := VXU(&c, doses, VXUOptions{SendingApp: "IISYNC", ReceivingApp: "IIS", ReceivingFacility: "STATE",
		ControlID: "C1", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)), IncludeRegistryID: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`MSH|^~\&|IISYNC|ZZTESTCLINIC|IIS|STATE|20250102030405-0500||VXU^V04^VXU_V04|C1|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS`,
		`PID|1||PAT123^^^ZZTESTCLINIC^MR~R1^^^^SR||ZZTESTFAMILY^ZZTESTGIVEN^^^^^L||20200101|F|||||^PRN^PH^^^406^5551234`,
		`ORC|RE||D1^IISYNC`,
		`RXA|0|1|20250101|20250101|08^Hep B, adolescent or pediatric^CVX|0.5|mL^mL^UCUM||00^New immunization record^NIP001||^^^CLINIC||||L1||SKB^GlaxoSmithKline^MVX|||CP|A`,
		`RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163`,
		`OBX|1|CE|64994-7^Vaccine funding program eligibility category^LN|1|V04^VFC eligible - American Indian/Alaska native^HL70064||||||F|||20250101|||VXC40^per immunization^CDCPHINVS`,
		`ORC|RE||9999^IISYNC`,
		`RXA|0|1|20250101|20250101|21^varicella^CVX|999||||||||||||00^Parental decision^NIP002||RE|A`,
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\r"), "\r")
	if !slices.Equal(got, want) {
		t.Errorf("VXU =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestVXUErrors(t *testing.T) {
	tests := []struct {
		name  string
		chart *Chart
		opts  VXUOptions
		want  error
	}{
		{"nil chart", nil, VXUOptions{}, ErrNoPatient},
		{"no MRN", &Chart{Key: Key{Facility: "ZZTESTFAC"}}, VXUOptions{}, ErrNoPatient},
		{"bad action", &Chart{Key: Key{MRN: "PAT123"}}, VXUOptions{Action: "X"}, ErrAction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VXU(tc.chart, nil, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if s := fmt.Sprintf("%v %+v", err, err); strings.Contains(s, "ZZTEST") || strings.Contains(s, "PAT123") {
				t.Errorf("error text %q contains a value", s)
			}
		})
	}
}
