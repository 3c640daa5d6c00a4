package sandbox

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// queryRegistry returns a registry holding the base VXU's patient (MRN
// PAT123 from ZZCLINIC, registry ID SB0000001) and two look-alike twins
// reported by another facility.
func queryRegistry(t *testing.T) *IIS {
	t.Helper()
	s := newTestIIS(Config{})
	submit(t, s, []byte(baseVXU))
	for _, mother := range []string{"ZZTESTMOTHERA", "ZZTESTMOTHERB"} {
		s.Seed(Patient{Facility: "ZZOTHER", Family: "ZZTESTTWIN", Given: "ZZTESTGIVEN", Sex: "M", DOB: "20200101", MotherMaiden: mother})
	}
	return s
}

// twin edits the base query to look for the twins by demographics.
var twin = []edit{set("QPD-3", ""), set("QPD-4", "ZZTESTTWIN^ZZTESTGIVEN^^^^^L"), set("QPD-5", "ZZTESTNOBODY^^^^^^M"), set("QPD-7", "M")}

func TestQuery(t *testing.T) {
	tests := []struct {
		name    string
		edits   []edit
		profile string // MSH-21.1
		msa     string
		qak     string
		errs    []wantErr
		pids    int
		verdict iis.Verdict
	}{
		{name: "Z44 by MRN", profile: "Z42", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "Z34 by MRN", edits: []edit{set("QPD-1", "Z34^Request Immunization History^CDCPHINVS")},
			profile: "Z32", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "Z44 by registry ID only", edits: []edit{set("QPD-3", "SB0000001^^^IISSANDBOX^SR"), set("QPD-4", ""), set("QPD-5", ""), set("QPD-6", ""), set("QPD-7", "")},
			profile: "Z42", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "Z44 by demographics", edits: []edit{set("QPD-3", "")},
			profile: "Z42", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "demographics ignore case", edits: []edit{set("QPD-3", ""), set("QPD-4", "zztestfamily^ZzTestGiven")},
			profile: "Z42", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "MRN of another facility falls back to demographics", edits: []edit{set("MSH-4", "ZZOTHER")},
			profile: "Z42", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "MRN of another facility and another name", edits: []edit{set("MSH-4", "ZZOTHER"), set("QPD-4", "ZZTESTNOBODY^ZZTESTGIVEN")},
			profile: "Z33", msa: "AA", qak: "NF", verdict: iis.Accepted},
		{name: "no match", edits: []edit{set("QPD-3", ""), set("QPD-6", "20200102")},
			profile: "Z33", msa: "AA", qak: "NF", verdict: iis.Accepted},
		{name: "sex differs", edits: []edit{set("QPD-3", ""), set("QPD-7", "M")},
			profile: "Z33", msa: "AA", qak: "NF", verdict: iis.Accepted},
		{name: "MRN only, unknown", edits: []edit{set("QPD-3", "PAT999^^^ZZCLINIC^MR"), set("QPD-4", ""), set("QPD-6", "")},
			profile: "Z33", msa: "AA", qak: "NF", verdict: iis.Accepted},
		{name: "Z34 twins give a candidate list", edits: append([]edit{set("QPD-1", "Z34^Request Immunization History^CDCPHINVS")}, twin...),
			profile: "Z31", msa: "AA", qak: "OK", pids: 2, verdict: iis.Accepted},
		{name: "Z34 twins above RCP-2 are too many", edits: append([]edit{set("QPD-1", "Z34^Request Immunization History^CDCPHINVS"), set("RCP-2", "1^RD&Records&HL70126")}, twin...),
			profile: "Z33", msa: "AA", qak: "TM", verdict: iis.Accepted},
		{name: "Z44 twins are too many", edits: twin,
			profile: "Z33", msa: "AA", qak: "TM", verdict: iis.Accepted},
		{name: "mother's maiden name breaks the tie", edits: append(slices.Clone(twin), set("QPD-5", "ZZTESTMOTHERB^^^^^^M")),
			profile: "Z42", msa: "AA", qak: "OK", pids: 1, verdict: iis.Accepted},
		{name: "birth date missing", edits: []edit{set("QPD-3", ""), set("QPD-6", "")},
			profile: "Z33", msa: "AE", qak: "AE", errs: []wantErr{{"QPD^1^6", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "name and birth date missing", edits: []edit{set("QPD-3", ""), set("QPD-4", ""), set("QPD-6", "")},
			profile: "Z33", msa: "AE", qak: "AE", verdict: iis.Rejected, errs: []wantErr{
				{"QPD^1^4^1^1", "101", "E", "7"}, {"QPD^1^4^1^2", "101", "E", "7"}, {"QPD^1^6", "101", "E", "7"}}},
		{name: "birth date invalid", edits: []edit{set("QPD-6", "2020-01-01")},
			profile: "Z33", msa: "AE", qak: "AE", errs: []wantErr{{"QPD^1^6", "102", "E", "2"}}, verdict: iis.Rejected},
		{name: "query tag missing", edits: []edit{set("QPD-2", "")},
			profile: "Z33", msa: "AE", qak: "AE", errs: []wantErr{{"QPD^1^2", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "unknown query name", edits: []edit{set("QPD-1", "Z99^Nonsense^CDCPHINVS")},
			profile: "Z33", msa: "AR", qak: "AR", errs: []wantErr{{"QPD^1^1^1^1", "103", "E", "5"}}, verdict: iis.Rejected},
		{name: "QPD missing", edits: []edit{del("QPD", 1)},
			profile: "Z33", msa: "AR", qak: "AR", errs: []wantErr{{"QPD^1", "100", "E", "7"}}, verdict: iis.Rejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := queryRegistry(t)
			q := apply(t, baseQBP, tc.edits...)
			reply := submit(t, s, q)
			m, err := hl7.Parse(reply)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Value("MSH-21.1"); got != tc.profile {
				t.Errorf("profile %s, want %s\n%s", got, tc.profile, lines(reply))
			}
			c := iis.Classify(reply)
			if c.ACKCode != tc.msa || m.Value("QAK-2") != tc.qak {
				t.Errorf("MSA-1 %s QAK-2 %s, want %s %s", c.ACKCode, m.Value("QAK-2"), tc.msa, tc.qak)
			}
			if got := errsOf(c); !slices.Equal(got, tc.errs) {
				t.Errorf("ERRs %v, want %v", got, tc.errs)
			}
			if c.Verdict != tc.verdict {
				t.Errorf("verdict %s (%s), want %s", c.Verdict, c.Reason, tc.verdict)
			}
			if m.Value("MSH-9") != "RSP^K11^RSP_K11" || m.Value("MSA-2") != "ZZ-Q-0001" {
				t.Errorf("MSH-9 %s MSA-2 %s", m.Value("MSH-9"), m.Value("MSA-2"))
			}
			pids := 0
			for seg := range m.SegmentsNamed("PID") {
				pids++
				if got := seg.Field(1).String(); got != strconv.Itoa(pids) {
					t.Errorf("PID-1 = %s, want %d", got, pids)
				}
			}
			if pids != tc.pids {
				t.Errorf("%d PID segments, want %d", pids, tc.pids)
			}
			// QAK echoes QPD-2 and QPD-1; QPD is echoed as sent.
			in, _ := hl7.Parse(q)
			if qpd, ok := in.Segment("QPD", 1); ok {
				out, _ := m.Segment("QPD", 1)
				if string(out.Raw()) != string(qpd.Raw()) {
					t.Errorf("QPD not echoed")
				}
				if m.Value("QAK-1") != in.Value("QPD-2") || m.Value("QAK-3") != in.Value("QPD-1") {
					t.Errorf("QAK %s / %s does not echo QPD-2 / QPD-1", m.Value("QAK-1"), m.Value("QAK-3"))
				}
			}
		})
	}
}

// TestZ42Content checks the shape of an evaluated history and forecast.
func TestZ42Content(t *testing.T) {
	s := queryRegistry(t)
	reply := submit(t, s, []byte(baseQBP))
	m, err := hl7.Parse(reply)
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"MSH", "MSA", "QAK", "QPD", "PID", "ORC", "RXA", "OBX"}
	if got := segmentNames(t, reply)[:len(wantOrder)]; !slices.Equal(got, wantOrder) {
		t.Errorf("segments start %v, want %v", got, wantOrder)
	}
	for path, want := range map[string]string{
		"PID-3[1]":   "PAT123^^^ZZCLINIC^MR",
		"PID-3[2]":   "SB0000001^^^IISSANDBOX^SR",
		"PID-5":      "ZZTESTFAMILY^ZZTESTGIVEN^Q^^^^L",
		"PID-6":      "ZZTESTMOTHER^^^^^^M",
		"PID-7":      "20200101",
		"PID-11":     "1 ZZTEST Street^^Bozeman^MT^59715^USA^P",
		"ORC-2":      "",
		"ORC[2]-2":   "P-1",                   // the querying facility's own placer ID
		"ORC-3":      "SBD0000002^IISSANDBOX", // doses oldest first: the HepB
		"RXA-5":      "08^Hep B, adolescent or pediatric^CVX",
		"RXA[2]-5":   "20^DTaP^CVX",
		"RXA[2]-9":   "00^New immunization record^NIP001",
		"RXA[2]-15":  "LOT1",
		"RXA[2]-17":  "PMC^Sanofi Pasteur^MVX",
		"RXR-1":      "C28161^Intramuscular^NCIT",
		"RXA[3]-5":   "998^no vaccine administered^CVX",
		"RXA[3]-3":   "20250615",
		"RXA[3]-20":  "NA",
		"ORC[3]-3.1": "9999",
	} {
		if got := m.Value(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	// Evaluation of the DTaP dose given at 2 months: valid dose 1 of 5.
	if got := obxValues(t, reply, "30956-7"); !slices.Equal(got[:2], []string{"45^Hep B, unspecified formulation^CVX", "107^DTaP, unspecified formulation^CVX"}) {
		t.Errorf("evaluated vaccine groups %v", got[:2])
	}
	if got := obxValues(t, reply, "59781-5"); !slices.Equal(got, []string{"Y", "Y"}) {
		t.Errorf("dose validity %v, want Y Y", got)
	}
	// Forecast: one group per OBX-4 sub-ID, in schedule order.
	groups := obxValues(t, reply, "30956-7")[2:]
	var cvx []string
	for _, g := range groups {
		cvx = append(cvx, strings.Split(g, "^")[0])
	}
	if want := []string{"45", "107", "89", "17", "152", "122", "03", "21", "85", "88"}; !slices.Equal(cvx, want) {
		t.Errorf("forecast groups %v, want %v", cvx, want)
	}
	if got := obxValues(t, reply, "59783-1"); len(got) != 10 {
		t.Errorf("%d forecast statuses, want 10", len(got))
	}
	// Z32 for the same patient: history only.
	z32 := submit(t, s, apply(t, baseQBP, set("QPD-1", "Z34^Request Immunization History^CDCPHINVS")))
	if n := len(obxValues(t, z32, "30956-7")); n != 0 {
		t.Errorf("Z32 has %d vaccine-type OBX, want none", n)
	}
	if strings.Contains(string(z32), "998^") {
		t.Error("Z32 carries a forecast")
	}
}

// TestSeededHistory gives the registry a history the EHR does not have and
// checks a query returns it: deleted doses are left out, refusals are
// returned with ORC-3 9999.
func TestSeededHistory(t *testing.T) {
	s := newTestIIS(Config{})
	id := s.Seed(Patient{
		MRNs: []string{"PAT123"}, Facility: "ZZCLINIC",
		Family: "ZZTESTFAMILY", Given: "ZZTESTGIVEN", Sex: "F", DOB: "20200101",
		Doses: []Dose{
			{CVX: "8", Date: "20200101", Source: "00", Lot: "ZZLOT", MVX: "MSD"},
			{CVX: "110", Date: "20200301", Source: "01"},
			{CVX: "03", Date: "20210101", Deleted: true},
			{CVX: "21", Date: "20210101", Refusal: true, RefusalReason: "01"},
		},
	})
	if id != "SB0000001" {
		t.Errorf("Seed returned %q", id)
	}
	reply := submit(t, s, []byte(baseQBP))
	m, _ := hl7.Parse(reply)
	var cvx []string
	for seg := range m.SegmentsNamed("RXA") {
		cvx = append(cvx, seg.Field(5).Component(1).String())
	}
	if want := []string{"08", "110", "21", "998"}; !slices.Equal(cvx, want) {
		t.Errorf("RXA-5 %v, want %v\n%s", cvx, want, lines(reply))
	}
	for path, want := range map[string]string{
		"RXA[1]-15": "ZZLOT", "RXA[3]-20": "RE", "RXA[3]-18": "01^Religious exemption^NIP002",
		"ORC[3]-3.1": "9999", "ORC[1]-2": "", "PID-3[1].1": "PAT123",
	} {
		if got := m.Value(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	// A VXU from the EHR with the same MRN joins the seeded patient; its
	// HepB of the same day is the seeded one, its DTaP is new.
	submit(t, s, []byte(baseVXU))
	if ps := s.Patients(); len(ps) != 1 || len(ps[0].Doses) != 5 || ps[0].Doses[4].CVX != "20" {
		t.Errorf("after the VXU: %d patients, doses %+v", len(ps), ps[0].Doses)
	}
	// Seeding with a taken ID gets a fresh one.
	if id2 := s.Seed(Patient{ID: id, Family: "ZZTESTOTHER"}); id2 == id {
		t.Errorf("Seed reused the taken ID %s", id)
	}
	if id3 := s.Seed(Patient{ID: "ZZCUSTOM1", Family: "ZZTESTOTHER"}); id3 != "ZZCUSTOM1" {
		t.Errorf("Seed ignored the free ID: %s", id3)
	}
}
