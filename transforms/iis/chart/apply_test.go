package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/transforms/hl7"
)

const (
	fileAD1     = "vxu_z22_AD-1.1_multi_rxa_ndc_plus_historical.hl7"
	fileAD4     = "vxu_z22_AD-4.1_delete_RXA21_D.hl7"
	fileAD5     = "vxu_z22_AD-5.1_refusal_RE_NIP002.hl7"
	fileAD6     = "vxu_z22_AD-6.1_update_RXA21_U.hl7"
	fileAD7     = "vxu_z22_AD-7.1_historical_zoster_only.hl7"
	fileAD10    = "vxu_z22_AD-10.1_historical_pcv.hl7"
	fileMarina  = "vxu_z22_TG3_marina_history_evidence_of_immunity.hl7"
	fileBadLot  = "vxu_z22_TG3_marina_delete_bad_lot.hl7"
	fileGonzale = "vxu_z22_TG4_gonzales_contraindication_NA.hl7"
)

// step is one message applied to a chart: a testdata file, with every RXA-21
// optionally rewritten to action.
type step struct {
	file   string
	action string
}

// load parses a testdata message, rewriting every RXA-21 to action when set.
func load(t testing.TB, s step) *hl7.Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", s.file))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", s.file, err)
	}
	if s.action == "" {
		return m
	}
	for i := 1; ; i++ {
		if _, ok := m.Segment("RXA", i); !ok {
			return m
		}
		if m, err = m.Set(fmt.Sprintf("RXA[%d]-21", i), s.action); err != nil {
			t.Fatal(err)
		}
	}
}

func applyAll(t testing.TB, c *Chart, steps []step) {
	t.Helper()
	for _, s := range steps {
		if err := Apply(c, load(t, s)); err != nil {
			t.Fatalf("apply %s: %v", s.file, err)
		}
	}
}

func jsonOf(t testing.TB, c *Chart) []byte {
	t.Helper()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

var goldenCases = []struct {
	name  string
	steps []step
}{
	{"ad-1.1", []step{{file: fileAD1}}},
	{"ad-4.1", []step{{file: fileAD4}}},
	{"ad-5.1", []step{{file: fileAD5}}},
	{"ad-6.1", []step{{file: fileAD6}}},
	{"ad-7.1", []step{{file: fileAD7}}},
	{"ad-10.1", []step{{file: fileAD10}}},
	{"tg3-marina-history", []step{{file: fileMarina}}},
	{"tg3-marina-delete", []step{{file: fileBadLot}}},
	{"tg4-gonzales", []step{{file: fileGonzale}}},
	// Sequences: add, then update, then delete.
	{"seq-banks-add-update-delete", []step{{file: fileAD5}, {file: fileAD6}, {file: fileAD6, action: "D"}}},
	{"seq-benton-add-delete", []step{{file: fileAD4, action: "A"}, {file: fileAD4}}},
	{"seq-marina-history-delete", []step{{file: fileMarina}, {file: fileBadLot}}},
}

func TestApplyGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var c Chart
			applyAll(t, &c, tc.steps)
			golden.JSON(t, filepath.Join("testdata", tc.name+".golden.json"), &c)
		})
	}
}

func TestApplyIdempotent(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			var once, twice Chart
			applyAll(t, &once, tc.steps)
			for _, s := range tc.steps {
				applyAll(t, &twice, []step{s, s})
			}
			if a, b := jsonOf(t, &once), jsonOf(t, &twice); !bytes.Equal(a, b) {
				t.Errorf("applying each message twice changed the chart:\n%s\nvs\n%s", a, b)
			}
		})
	}
}

// ids returns the IDs of the chart's doses, in order.
func ids(c *Chart) []string {
	var out []string
	for _, d := range c.Doses {
		out = append(out, d.ID)
	}
	return out
}

func TestApplyRules(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		check func(t *testing.T, c *Chart)
	}{
		{"ndc and historical", []step{{file: fileAD1}}, func(t *testing.T, c *Chart) {
			if want := (Key{Facility: "NISTEHRFAC", MRN: "3123"}); c.Key != want {
				t.Errorf("key = %+v", c.Key)
			}
			if got, want := ids(c), []string{"31528", "82668", "65138", "38766", "79539"}; !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
			d, _ := c.Dose("38766")
			want := Dose{ID: "38766", Date: "20150624", CVX: "120", NDC: "49281-0560-05", Text: "Pentacel",
				Amount: "0.5", Units: "mL", Source: "00", Lot: "526434", Expiry: "20150722", MVX: "PMC",
				Completion: "CP", Facility: "NIST-Clinic-1", Route: "C28161", Site: "RT", Funding: "V04",
				Updated: time.Date(2015, 6, 24, 12, 37, 33, 994e6, time.UTC)}
			if !equalDose(d, want) {
				t.Errorf("dose = %+v\nwant   %+v", d, want)
			}
			p := c.Patient
			if p.Phone != "4065557690" || p.GuardianGiven != "Maria" || p.GuardianRelation != "MTH" ||
				p.Publicity != "02" || p.Protection != "N" || p.RegistryStatus != "A" || p.BirthDate != "20150415" {
				t.Errorf("patient = %+v", p)
			}
			if !c.Updated.Equal(want.Updated) {
				t.Errorf("updated = %v", c.Updated)
			}
		}},
		{"refusal is an indicator", []step{{file: fileAD5}}, func(t *testing.T, c *Chart) {
			if len(c.Doses) != 3 {
				t.Errorf("doses = %v", ids(c))
			}
			want := []Indicator{{Kind: Refusal, Code: "00", Text: "Parental decision", System: "NIP002",
				CVX: "21", Groups: []string{"VARICELLA"}, Date: "20150624"}}
			if !reflect.DeepEqual(c.Indicators, want) {
				t.Errorf("indicators = %+v", c.Indicators)
			}
			if c.Patient.MultipleBirth != "Y" || c.Patient.BirthOrder != "2" {
				t.Errorf("patient = %+v", c.Patient)
			}
		}},
		{"update replaces by ID", []step{{file: fileAD5}, {file: fileAD6}}, func(t *testing.T, c *Chart) {
			d, ok := c.Dose("12128")
			if !ok || d.Lot != "208490" || len(c.Doses) != 3 {
				t.Errorf("dose 12128 = %+v (%v), ids %v", d, ok, ids(c))
			}
		}},
		{"delete by ID", []step{{file: fileAD5}, {file: fileAD6}, {file: fileAD6, action: "D"}}, func(t *testing.T, c *Chart) {
			if _, ok := c.Dose("12128"); ok || len(c.Doses) != 2 {
				t.Errorf("ids = %v", ids(c))
			}
			if len(c.Indicators) != 1 {
				t.Errorf("refusal lost: %+v", c.Indicators)
			}
		}},
		{"delete unknown is a no-op", []step{{file: fileAD4}}, func(t *testing.T, c *Chart) {
			if len(c.Doses) != 0 || c.Patient.Family != "Benton" {
				t.Errorf("chart = %+v", c)
			}
		}},
		{"repeated order number gives synthetic IDs", []step{{file: fileMarina}}, func(t *testing.T, c *Chart) {
			if len(c.Doses) != 24 {
				t.Errorf("%d doses, want 24", len(c.Doses))
			}
			for _, d := range c.Doses {
				if !strings.HasPrefix(d.ID, "rxa:"+d.Date+":") {
					t.Errorf("dose id %q", d.ID)
				}
			}
			if d, ok := c.Dose("rxa:20181031:08"); !ok || d.NDC != "58160-0820-43" || d.Funding != "V01" || d.Facility != "DCS_DC" {
				t.Errorf("ndc-only dose = %+v, %v", d, ok)
			}
			if c.RegistryID != "987633" {
				t.Errorf("registry id = %q", c.RegistryID)
			}
			var codes []string
			for _, in := range c.Indicators {
				codes = append(codes, string(in.Kind)+":"+in.Code+":"+in.CVX)
			}
			if want := []string{"immunity:38907003:21", "immunity:278971009:31"}; !slices.Equal(codes, want) {
				t.Errorf("indicators = %v, want %v", codes, want)
			}
		}},
		{"delete falls back to date and CVX", []step{{file: fileMarina}, {file: fileBadLot}}, func(t *testing.T, c *Chart) {
			if _, ok := c.Dose("rxa:20181031:08"); ok || len(c.Doses) != 23 {
				t.Errorf("ids = %v", ids(c))
			}
		}},
		{"contraindications on NA rows", []step{{file: fileGonzale}}, func(t *testing.T, c *Chart) {
			if len(c.Doses) != 1 || c.Doses[0].ID != "197027" {
				t.Errorf("ids = %v", ids(c))
			}
			if len(c.Indicators) != 5 {
				t.Fatalf("indicators = %+v", c.Indicators)
			}
			for _, in := range c.Indicators {
				if in.Kind != Contraindication || in.Code != "VXC23" || in.Date != "20181031" {
					t.Errorf("indicator = %+v", in)
				}
			}
		}},
		{"historical", []step{{file: fileAD7}}, func(t *testing.T, c *Chart) {
			if len(c.Doses) != 1 || c.Doses[0].Source != "01" || c.Doses[0].CVX != "121" || c.Doses[0].ID != "53100" {
				t.Errorf("doses = %+v", c.Doses)
			}
			if c.Patient.Phone != "4065554064" {
				t.Errorf("phone = %q", c.Patient.Phone)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Chart
			applyAll(t, &c, tc.steps)
			tc.check(t, &c)
		})
	}
}

func TestApplyKeepsAbsentSegments(t *testing.T) {
	var c Chart
	applyAll(t, &c, []step{{file: fileAD1}})
	// The same patient without PD1 and NK1: those fields stay.
	m := load(t, step{file: fileAD1})
	for _, name := range []string{"PD1", "NK1", "NK1"} {
		var err error
		if m, err = m.DeleteSegment(name, 1); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ = m.Set("PID-5.2", "Rusty"); m == nil {
		t.Fatal("set failed")
	}
	before := c.Patient
	if err := Apply(&c, m); err != nil {
		t.Fatal(err)
	}
	want := before
	want.Given = "Rusty"
	if c.Patient != want {
		t.Errorf("patient = %+v\nwant      %+v", c.Patient, want)
	}
}

func TestApplyErrors(t *testing.T) {
	const msh = "MSH|^~\\&|ZZTESTAPP|ZZTESTFAC|||20200101||VXU^V04^VXU_V04|PAT123|P|2.5.1\r"
	tests := []struct {
		name  string
		chart Chart
		msg   string
		want  error
	}{
		{"no PID", Chart{}, msh, ErrNoPatient},
		{"no MRN", Chart{}, msh + "PID|1||^^^ZZTESTAUTH^MR||ZZTESTFAMILY^ZZTESTGIVEN||20200101|F\r", ErrNoPatient},
		{"other patient", Chart{Key: Key{Facility: "ZZTESTFAC", MRN: "ZZTESTOTHER"}},
			msh + "PID|1||PAT123^^^ZZTESTAUTH^MR||ZZTESTFAMILY^ZZTESTGIVEN||20200101|F\r", ErrOtherPatient},
		{"not a VXU", Chart{},
			"MSH|^~\\&|ZZTESTAPP|ZZTESTFAC|||20200101||ZZTEST^V04|PAT123|P|2.5.1\rPID|1||PAT123^^^ZZTESTAUTH^MR\r", ErrNotVXU},
	}
	canaries := []string{"ZZTEST", "PAT123", "20200101"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := hl7.Parse([]byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			c := tc.chart
			before := jsonOf(t, &c)
			err = Apply(&c, m)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply error = %v, want %v", err, tc.want)
			}
			if !bytes.Equal(before, jsonOf(t, &c)) {
				t.Error("failed Apply changed the chart")
			}
			errs := []error{err}
			if _, kerr := KeyOf(m); kerr != nil {
				errs = append(errs, kerr)
			}
			for _, e := range errs {
				for _, s := range []string{e.Error(), fmt.Sprintf("%v|%+v|%#v|%q", e, e, e, e)} {
					for _, c := range canaries {
						if strings.Contains(s, c) {
							t.Errorf("error text %q contains message value %q", s, c)
						}
					}
				}
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	tests := []struct {
		name string
		pid  string
		want Key
	}{
		{"typed MR", "PID|1||X1^^^A^PI~PAT123^^^A^MR~R9^^^IIS^SR", Key{"ZZTESTFAC", "PAT123"}},
		{"first when none is MR", "PID|1||PAT123^^^A^PI~X2^^^A^PT", Key{"ZZTESTFAC", "PAT123"}},
		{"empty MR falls back to first", "PID|1||PAT123^^^A^PI~^^^A^MR", Key{"ZZTESTFAC", "PAT123"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := hl7.Parse([]byte("MSH|^~\\&|A|ZZTESTFAC^1.2.3^ISO|||20200101||VXU^V04|1|P|2.5.1\r" + tc.pid + "\r"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := KeyOf(m)
			if err != nil || got != tc.want {
				t.Errorf("KeyOf = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"20150624073733.994-0500", time.Date(2015, 6, 24, 12, 37, 33, 994e6, time.UTC)},
		{"20180701082240-0500", time.Date(2018, 7, 1, 13, 22, 40, 0, time.UTC)},
		{"201703041100", time.Date(2017, 3, 4, 11, 0, 0, 0, time.UTC)},
		{"20170304", time.Date(2017, 3, 4, 0, 0, 0, 0, time.UTC)},
		{"202501011200+0130", time.Date(2025, 1, 1, 10, 30, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"2015062", time.Time{}},
		{"20150230", time.Time{}},
		{"20150624x", time.Time{}},
		{"20150624-05", time.Time{}},
		{"2015062412.5", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := ParseTime(tc.in); !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestChartMethods(t *testing.T) {
	d := func(id, date, cvx string) Dose { return Dose{ID: id, Date: date, CVX: cvx} }
	tests := []struct {
		name string
		ops  func(c *Chart)
		want []string
	}{
		{"sorted insert", func(c *Chart) {
			c.Upsert(d("b", "20200102", "08"))
			c.Upsert(d("a", "20200101", "10"))
			c.Upsert(d("c", "20200101", "08"))
		}, []string{"c", "a", "b"}},
		{"replace moves", func(c *Chart) {
			c.Upsert(d("a", "20200101", "08"))
			c.Upsert(d("b", "20200102", "08"))
			c.Upsert(d("a", "20200103", "08"))
		}, []string{"b", "a"}},
		{"same date and CVX by ID", func(c *Chart) {
			c.Upsert(d("z", "20200101", "08"))
			c.Upsert(d("y", "20200101", "08"))
		}, []string{"y", "z"}},
		{"remove", func(c *Chart) {
			c.Upsert(d("a", "20200101", "08"))
			c.Upsert(d("b", "20200102", "08"))
			if !c.Remove("a") || c.Remove("a") {
				panic("Remove result")
			}
		}, []string{"b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Chart
			tc.ops(&c)
			if got := ids(&c); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}

	var c Chart
	c.AddIndicator(Indicator{Kind: Immunity, Code: "38907003", CVX: "21", Text: "old"})
	c.AddIndicator(Indicator{Kind: Contraindication, Code: "VXC23", CVX: "08"})
	c.AddIndicator(Indicator{Kind: Immunity, Code: "38907003", CVX: "021", Text: "new"})
	c.AddIndicator(Indicator{Kind: Contraindication, Code: "VXC23", CVX: "45"})
	if len(c.Indicators) != 3 || c.Indicators[2].Text != "new" {
		t.Errorf("indicators = %+v", c.Indicators)
	}
}

// equalDose compares doses field by field (Updated with Equal).
func equalDose(a, b Dose) bool {
	ua, ub := a.Updated, b.Updated
	a.Updated, b.Updated = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b) && ua.Equal(ub)
}

// TestEHRRecordReplacesImport: a dose the Sync Registry imported (RXA-9
// 05, registry ID) gives way to the EHR's own record of it (its own ID),
// so the chart does not count the dose twice.
func TestEHRRecordReplacesImport(t *testing.T) {
	c := &Chart{Key: Key{Facility: "CLINIC", MRN: "PAT123"}}
	c.Upsert(Dose{ID: "SBD1", Date: "20240101", CVX: "08", Source: SourceFromRegistry})
	c.Upsert(Dose{ID: "SBD2", Date: "20240301", CVX: "10", Source: SourceFromRegistry})
	vxu := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|X1|P|2.5.1\r" +
		"PID|1||PAT123^^^CLINIC^MR||ZZTEST^ZZTESTGIVEN||20200101|F\r" +
		"ORC|RE||EHR-9^CLINIC\r" +
		"RXA|0|1|20240101|20240101|08^Hep B^CVX|999|||05^From a registry^NIP001|||||||||||CP|A\r"
	m, err := hl7.Parse([]byte(vxu))
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(c, m); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(c), []string{"EHR-9", "SBD2"}; !slices.Equal(got, want) {
		t.Fatalf("doses %v, want %v", got, want)
	}
}
