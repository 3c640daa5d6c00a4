package query

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/chart"
)

// vazquez is the HIMSS IIP v7 TG2 patient as the EHR's chart holds her
// (testdata/qbp/qbp_z44_TG2_vazquez.hl7 is NIST's query for her).
func vazquez() *chart.Chart {
	return &chart.Chart{
		Key: chart.Key{Facility: "MYEHR", MRN: "123456"},
		Patient: chart.Demographics{
			Family: "Vazquez", Given: "Juana", Middle: "Mariana",
			MotherMaiden: "Acosta", MotherGiven: "Maria",
			BirthDate: "20131101", Sex: "F",
			Street: "4345 Standish Way", City: "Stamford", State: "CT", Zip: "06903",
			Phone: "2035551212", MultipleBirth: "N",
		},
	}
}

func mustParse(t *testing.T, b []byte) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatalf("hl7.Parse: %v", err)
	}
	return m
}

// TestBuildMatchesNIST compares the QPD Build writes for the Vazquez chart
// with NIST's Z44 for the same patient, component by component where they
// carry the same meaning.
func TestBuildMatchesNIST(t *testing.T) {
	raw, err := Build(Request{Chart: vazquez(), ControlID: "793543", QueryTag: "37374859",
		SendingApp: "MYEHRAPP", Time: time.Date(2018, 10, 15, 0, 10, 20, 0, time.FixedZone("", -5*3600))})
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, raw)
	nistRaw, err := os.ReadFile(filepath.Join("testdata", "qbp", "qbp_z44_TG2_vazquez.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	nist := mustParse(t, nistRaw)

	same := []string{
		"MSH-9", "MSH-10", "MSH-12", "MSH-15", "MSH-16", "MSH-21",
		"QPD-1", "QPD-2",
		"QPD-3.1", "QPD-3.4", "QPD-3.5",
		"QPD-4.1", "QPD-4.2", "QPD-4.3", "QPD-4.7",
		"QPD-5.1", "QPD-5.2", "QPD-5.7",
		"QPD-7",
		"QPD-8.1", "QPD-8.3", "QPD-8.4", "QPD-8.5", "QPD-8.7",
		"QPD-9.2", "QPD-9.6", "QPD-9.7",
		"QPD-10",
		"RCP-1", "RCP-2.2",
	}
	for _, p := range same {
		if g, w := got.Value(p), nist.Value(p); g != w {
			t.Errorf("%s = %q, NIST has %q", p, g, w)
		}
	}
	// NIST sends the birth time (201311011105); a query carries the date.
	if g, w := got.Value("QPD-6"), nist.Value("QPD-6")[:8]; g != w {
		t.Errorf("QPD-6 = %q, want %q", g, w)
	}
	for path, want := range map[string]string{
		"MSH-3":   "MYEHRAPP",
		"MSH-4":   "MYEHR", // from the chart's key
		"MSH-7":   "20181015001020-0500",
		"MSH-11":  "P",
		"QPD-9.3": "PH",
		"RCP-2.1": "10",
		"RCP-3":   "R^Real Time^HL70394",
		"QPD-3":   "123456^^^MYEHR^MR",
	} {
		if g := got.Value(path); g != want {
			t.Errorf("%s = %q, want %q", path, g, want)
		}
	}
	if !strings.HasSuffix(string(raw), "\r") || strings.Contains(string(raw), "\n") {
		t.Error("segments must end in CR only")
	}
	if n := got.SegmentCount(); n != 3 {
		t.Errorf("%d segments, want MSH QPD RCP", n)
	}
}

func TestBuild(t *testing.T) {
	at := time.Date(2025, 6, 15, 10, 30, 0, 0, time.UTC)
	withID := vazquez()
	withID.RegistryID = "SB0000001"
	escaped := vazquez()
	escaped.Patient.Family = `O|Brien^Smith`
	escaped.Patient.Given = `A&B~C\D`
	bare := vazquez()
	bare.Patient = chart.Demographics{Family: "ZZTESTFAMILY", Given: "ZZTESTGIVEN", BirthDate: "202001011230"}
	bare.Key = chart.Key{}
	tests := []struct {
		name string
		req  Request
		want map[string]string
	}{
		{name: "defaults", req: Request{Chart: vazquez(), ControlID: "Q1", Time: at},
			want: map[string]string{"MSH-21": "Z44^CDCPHINVS", "QPD-1.1": "Z44", "QPD-2": "Q1", "RCP-2.1": "10", "MSH-11": "P"}},
		{name: "Z34 lower case", req: Request{Chart: vazquez(), ControlID: "Q1", Profile: "z34", Time: at},
			want: map[string]string{"MSH-21": "Z34^CDCPHINVS", "QPD-1": "Z34^Request Immunization History^CDCPHINVS"}},
		{name: "registry ID assigned by the receiving facility", req: Request{Chart: withID, ControlID: "Q1", Time: at,
			SendingFacility: "ZZCLINIC", ReceivingApp: "IISAPP", ReceivingFacility: "IISSANDBOX"},
			want: map[string]string{"QPD-3": "123456^^^ZZCLINIC^MR~SB0000001^^^IISSANDBOX^SR", "MSH-4": "ZZCLINIC", "MSH-5": "IISAPP", "MSH-6": "IISSANDBOX"}},
		{name: "registry ID assigned by the receiving app", req: Request{Chart: withID, ControlID: "Q1", Time: at, ReceivingApp: "IISAPP"},
			want: map[string]string{"QPD-3[2]": "SB0000001^^^IISAPP^SR"}},
		{name: "values are escaped", req: Request{Chart: escaped, ControlID: "Q|1", Time: at},
			want: map[string]string{"QPD-4.1": `O|Brien^Smith`, "QPD-4.2": `A&B~C\D`, "MSH-10": "Q|1", "QPD-2": "Q|1"}},
		{name: "options", req: Request{Chart: vazquez(), ControlID: "Q1", QueryTag: "TAG", ProcessingID: "T", MaxCandidates: 3, Time: at},
			want: map[string]string{"QPD-2": "TAG", "MSH-11": "T", "RCP-2": "3^RD&Records&HL70126"}},
		{name: "only what is known", req: Request{Chart: bare, ControlID: "Q1", Time: at},
			want: map[string]string{"QPD-3": "", "QPD-4": "ZZTESTFAMILY^ZZTESTGIVEN^^^^^L", "QPD-5": "", "QPD-6": "20200101",
				"QPD-8": "", "QPD-9": "", "MSH-4": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := Build(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			m := mustParse(t, raw)
			for path, want := range tc.want {
				if got := m.Value(path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	noName, badDOB := vazquez(), vazquez()
	noName.Patient.Given = " "
	badDOB.Patient.BirthDate = "2013-11-01"
	tests := []struct {
		name string
		req  Request
		want []error
	}{
		{"no chart", Request{ControlID: "Q1"}, []error{ErrNoChart}},
		{"no given name", Request{Chart: noName, ControlID: "Q1"}, []error{ErrNoName}},
		{"bad birth date", Request{Chart: badDOB, ControlID: "Q1"}, []error{ErrNoBirthDate}},
		{"no control ID", Request{Chart: vazquez()}, []error{ErrNoControlID}},
		{"bad profile", Request{Chart: vazquez(), ControlID: "Q1", Profile: "Z99"}, []error{ErrProfile}},
		{"everything", Request{Chart: &chart.Chart{}, Profile: "Z22"}, []error{ErrProfile, ErrNoControlID, ErrNoName, ErrNoBirthDate}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := Build(tc.req)
			if raw != nil {
				t.Error("bytes returned with an error")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v, want %v", err, w)
				}
			}
		})
	}
}

func TestSplitPhone(t *testing.T) {
	for in, want := range map[string][2]string{
		"2035551212":     {"203", "5551212"},
		"(203) 555-1212": {"203", "5551212"},
		"12035551212":    {"203", "5551212"},
		"5551212":        {"", "5551212"},
		"":               {"", ""},
		"123":            {"", "123"},
	} {
		if a, l := splitPhone(in); a != want[0] || l != want[1] {
			t.Errorf("splitPhone(%q) = %q %q, want %q", in, a, l, want)
		}
	}
}
