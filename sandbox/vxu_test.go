package sandbox

import (
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// TestVXUValidation covers every validation rule: each case edits the
// valid base VXU and pins MSA-1, the ERR segments (position, 0357 code,
// severity, 0533 code), the verdict iis.Classify reaches and what was
// stored.
func TestVXUValidation(t *testing.T) {
	tests := []struct {
		name     string
		raw      string // default baseVXU
		edits    []edit
		msa      string
		errs     []wantErr
		verdict  iis.Verdict
		patients int
		doses    int // live doses of the first patient
	}{
		{name: "valid", msa: "AA", verdict: iis.Accepted, patients: 1, doses: 2},

		// Message level.
		{name: "MSH-10 missing", edits: []edit{set("MSH-10", "")}, msa: "AR",
			errs: []wantErr{{"MSH^1^10", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "unsupported version", edits: []edit{set("MSH-12", "2.3.1")}, msa: "AR",
			errs: []wantErr{{"MSH^1^12^1^1", "203", "E", ""}}, verdict: iis.Rejected},
		{name: "PID missing", edits: []edit{del("PID", 1)}, msa: "AR",
			errs: []wantErr{{"PID^1", "100", "E", "7"}}, verdict: iis.Rejected},

		// Patient level: the whole message is rejected, nothing stored.
		{name: "PID-3 missing", edits: []edit{set("PID-3", "")}, msa: "AR",
			errs: []wantErr{{"PID^1^3", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "PID-3 only a registry ID", edits: []edit{set("PID-3.5", "SR")}, msa: "AR",
			errs: []wantErr{{"PID^1^3", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "family name missing", edits: []edit{set("PID-5.1", "")}, msa: "AR",
			errs: []wantErr{{"PID^1^5^1^1", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "given name missing", edits: []edit{set("PID-5.2", "")}, msa: "AR",
			errs: []wantErr{{"PID^1^5^1^2", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "birth date missing", edits: []edit{set("PID-7", "")}, msa: "AR",
			errs: []wantErr{{"PID^1^7", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "birth date invalid", edits: []edit{set("PID-7", "20201301")}, msa: "AR",
			errs: []wantErr{{"PID^1^7", "102", "E", "2"}}, verdict: iis.Rejected},
		{name: "birth date in the future", edits: []edit{set("PID-7", "20250616")}, msa: "AR",
			errs: []wantErr{{"PID^1^7", "999", "E", "1"}}, verdict: iis.Rejected},
		{name: "sex missing", edits: []edit{set("PID-8", "")}, msa: "AR",
			errs: []wantErr{{"PID^1^8", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "sex not in table", edits: []edit{set("PID-8", "Q")}, msa: "AR",
			errs: []wantErr{{"PID^1^8", "103", "E", "5"}}, verdict: iis.Rejected},
		{name: "several patient errors at once", edits: []edit{set("PID-5.1", ""), set("PID-8", "")}, msa: "AR",
			errs: []wantErr{{"PID^1^5^1^1", "101", "E", "7"}, {"PID^1^8", "101", "E", "7"}}, verdict: iis.Rejected},
		{name: "birth date with time accepted", edits: []edit{set("PID-7", "202001011100")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},

		// Patient warnings: stored, AA with W.
		{name: "address missing", edits: []edit{set("PID-11", "")}, msa: "AA",
			errs: []wantErr{{"PID^1^11", "101", "W", "7"}}, verdict: iis.AcceptedWithWarnings, patients: 1, doses: 2},

		// Dose errors: that dose is not stored, the rest is; AE.
		{name: "RXA-3 missing", edits: []edit{set("RXA-3", "")}, msa: "AE",
			errs: []wantErr{{"RXA^1^3", "101", "E", "7"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "RXA-3 invalid", edits: []edit{set("RXA-3", "2020-03-01")}, msa: "AE",
			errs: []wantErr{{"RXA^1^3", "102", "E", "2"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "RXA-3 before birth", edits: []edit{set("RXA[2]-3", "20191231")}, msa: "AE",
			errs: []wantErr{{"RXA^2^3", "999", "E", "1"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "RXA-3 in the future", edits: []edit{set("RXA-3", "20250616")}, msa: "AE",
			errs: []wantErr{{"RXA^1^3", "999", "E", "1"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "RXA-3 today is fine", edits: []edit{set("RXA-3", "20250615")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},
		{name: "unknown CVX", edits: []edit{set("RXA[2]-5.1", "9876")}, msa: "AE",
			errs: []wantErr{{"RXA^2^5^1^1", "103", "E", "5"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "RXA-5 missing", edits: []edit{set("RXA[2]-5", "")}, msa: "AE",
			errs: []wantErr{{"RXA^2^5", "101", "E", "7"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "unknown NDC", edits: []edit{set("RXA-5", "99999-9999-99^Unknown^NDC")}, msa: "AE",
			errs: []wantErr{{"RXA^1^5^1^1", "103", "E", "5"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "known NDC", edits: []edit{set("RXA-5", "49281-0560-05^Pentacel^NDC")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},
		{name: "CVX as the alternate code", edits: []edit{set("RXA-5", "99999-9999-99^Unknown^NDC^20^DTaP^CVX")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},
		{name: "unknown CVX as the alternate code", edits: []edit{set("RXA-5", "49281-0560-05^Pentacel^NDC^9876^x^CVX")}, msa: "AE",
			errs: []wantErr{{"RXA^1^5^1^4", "103", "E", "5"}}, verdict: iis.Rejected, patients: 1, doses: 1},
		{name: "CVX without leading zero", edits: []edit{set("RXA[2]-5.1", "8")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},
		{name: "CVX 998 is ignored", edits: []edit{set("RXA[2]-5", "998^no vaccine administered^CVX"), set("RXA[2]-3", "")},
			msa: "AA", verdict: iis.Accepted, patients: 1, doses: 1},
		{name: "action code invalid", edits: []edit{set("RXA-21", "X")}, msa: "AE",
			errs: []wantErr{{"RXA^1^21", "103", "E", "5"}}, verdict: iis.Rejected, patients: 1, doses: 1},

		// Dose warnings: stored, AA with W.
		{name: "unknown MVX", edits: []edit{set("RXA-17", "ZZZ^Nobody^MVX")}, msa: "AA",
			errs: []wantErr{{"RXA^1^17^1^1", "103", "W", "5"}}, verdict: iis.AcceptedWithWarnings, patients: 1, doses: 2},
		{name: "MVX lower case is known", edits: []edit{set("RXA-17.1", "pmc")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},
		{name: "administered without VFC eligibility", edits: []edit{del("OBX", 1)}, msa: "AA",
			errs: []wantErr{{"RXA^1", "101", "W", "6"}}, verdict: iis.AcceptedWithWarnings, patients: 1, doses: 2},
		{name: "historical needs no VFC eligibility", edits: []edit{del("OBX", 1), set("RXA-9.1", "01")}, msa: "AA",
			verdict: iis.Accepted, patients: 1, doses: 2},
		{name: "completion status invalid", edits: []edit{set("RXA-20", "ZZ")}, msa: "AA",
			errs: []wantErr{{"RXA^1^20", "103", "W", "5"}}, verdict: iis.AcceptedWithWarnings, patients: 1, doses: 2},
		{name: "errors and warnings together", edits: []edit{set("PID-11", ""), set("RXA[2]-5.1", "9876")}, msa: "AE",
			errs: []wantErr{{"PID^1^11", "101", "W", "7"}, {"RXA^2^5^1^1", "103", "E", "5"}}, verdict: iis.Rejected, patients: 1, doses: 1},

		// Message type.
		{name: "unsupported message type", raw: strings.Replace(baseVXU, "VXU^V04^VXU_V04", "ADT^A01^ADT_A01", 1), msa: "AR",
			errs: []wantErr{{"MSH^1^9", "200", "E", ""}}, verdict: iis.Rejected},
		{name: "unsupported event", raw: strings.Replace(baseVXU, "VXU^V04^VXU_V04", "VXU^V05^VXU_V04", 1), msa: "AR",
			errs: []wantErr{{"MSH^1^9^^2", "201", "E", ""}}, verdict: iis.Rejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.raw
			if raw == "" {
				raw = baseVXU
			}
			s := newTestIIS(Config{})
			reply := submit(t, s, apply(t, raw, tc.edits...))
			c := iis.Classify(reply)
			if c.ACKCode != tc.msa {
				t.Errorf("MSA-1 = %s, want %s\n%s", c.ACKCode, tc.msa, lines(reply))
			}
			if got := errsOf(c); !slices.Equal(got, tc.errs) {
				t.Errorf("ERRs = %v\nwant   %v\n%s", got, tc.errs, lines(reply))
			}
			if c.Verdict != tc.verdict {
				t.Errorf("verdict %s (%s), want %s", c.Verdict, c.Reason, tc.verdict)
			}
			if c.ControlID != value(t, apply(t, raw, tc.edits...), "MSH-10") {
				t.Errorf("MSA-2 %q does not echo MSH-10", c.ControlID)
			}
			if got := value(t, reply, "MSH-9"); got != "ACK^"+value(t, []byte(raw), "MSH-9.2")+"^ACK" {
				t.Errorf("MSH-9 = %s", got)
			}
			ps := s.Patients()
			if len(ps) != tc.patients {
				t.Fatalf("%d patients stored, want %d", len(ps), tc.patients)
			}
			if tc.patients > 0 {
				live := 0
				for _, d := range ps[0].Doses {
					if !d.Deleted {
						live++
					}
				}
				if live != tc.doses {
					t.Errorf("%d doses stored, want %d: %+v", live, tc.doses, ps[0].Doses)
				}
			}
		})
	}
}

// TestACKHeader checks the ACK's header: sender and receiver swapped, the
// configured registry name, Z23 profile, MSA-2.
func TestACKHeader(t *testing.T) {
	s := newTestIIS(Config{ReceivingApp: "MYIIS", ReceivingFacility: "MYSTATE"})
	reply := submit(t, s, []byte(baseVXU))
	for path, want := range map[string]string{
		"MSH-3": "MYIIS", "MSH-4": "MYSTATE", "MSH-5": "ZZEHR", "MSH-6": "ZZCLINIC",
		"MSH-7": "20250615103000-0500", "MSH-9": "ACK^V04^ACK", "MSH-10": "SBR00000001",
		"MSH-12": "2.5.1", "MSH-21": "Z23^CDCPHINVS", "MSA-1": "AA", "MSA-2": "ZZ-0001",
	} {
		if got := value(t, reply, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if got := value(t, submit(t, s, []byte(baseVXU)), "MSH-10"); got != "SBR00000002" {
		t.Errorf("second reply MSH-10 = %q, want SBR00000002", got)
	}
}

// TestUnparseable checks that input that is not HL7 gets an AR with an
// ERR saying where parsing failed.
func TestUnparseable(t *testing.T) {
	tests := []struct {
		name, raw string
		code      string
	}{
		{"not HL7", "hello world", "100"},
		{"bad delimiters", "MSH|^|ZZ|ZZ\rPID|1", "102"},
		{"bad segment id", "MSH|^~\\&|ZZEHR|ZZCLINIC|||20250615||VXU^V04^VXU_V04|ZZ-1|P|2.5.1\rpid|1\r", "100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestIIS(Config{})
			reply := submit(t, s, []byte(tc.raw))
			c := iis.Classify(reply)
			if c.ACKCode != "AR" || c.Verdict != iis.Rejected {
				t.Fatalf("got %s %s, want AR rejected\n%s", c.ACKCode, c.Verdict, lines(reply))
			}
			if len(c.Errors) != 1 || c.Errors[0].Code != tc.code || c.Errors[0].Severity != "E" {
				t.Errorf("ERRs %v, want one E with 0357 %s", c.Errors, tc.code)
			}
			if len(s.Patients()) != 0 {
				t.Error("a patient was stored")
			}
		})
	}
}

// TestDoseActions runs add, duplicate add, update (by ORC-3, ORC-2, the
// registry's dose ID and CVX+date), delete and refusal through one patient.
func TestDoseActions(t *testing.T) {
	s := newTestIIS(Config{})
	steps := []struct {
		name  string
		edits []edit
		check func(t *testing.T, doses []Dose)
		errs  []wantErr
	}{
		{name: "add", check: func(t *testing.T, doses []Dose) {
			want(t, len(doses) == 2, "2 doses, got %d", len(doses))
			want(t, doses[0].CVX == "20" && doses[0].Lot == "LOT1" && doses[0].Source == "00" && doses[0].MVX == "PMC",
				"first dose %+v", doses[0])
			want(t, doses[0].PlacerID == "P-1" && doses[0].FillerID == "F-1" && doses[0].Route == "C28161" && doses[0].Site == "LT",
				"order IDs and route %+v", doses[0])
			want(t, doses[1].CVX == "08" && doses[1].Source == "01", "second dose %+v", doses[1])
		}},
		{name: "same add again is not a duplicate", check: func(t *testing.T, doses []Dose) {
			want(t, len(doses) == 2, "2 doses, got %d", len(doses))
		}},
		{name: "update by ORC-3", edits: []edit{set("RXA-15", "LOT2"), set("RXA-21", "U")}, check: func(t *testing.T, doses []Dose) {
			want(t, len(doses) == 2 && doses[0].Lot == "LOT2", "lot not updated: %+v", doses)
		}},
		{name: "update by ORC-2", edits: []edit{set("ORC-3", ""), set("RXA-15", "LOT3"), set("RXA-3", "20200302"), set("RXA-21", "U")},
			check: func(t *testing.T, doses []Dose) {
				want(t, len(doses) == 2 && doses[0].Lot == "LOT3" && doses[0].Date == "20200302", "not updated by placer: %+v", doses)
			}},
		{name: "update by registry dose ID", edits: []edit{set("ORC-2", ""), set("ORC-3", "SBD0000001^IISSANDBOX"), set("RXA-3", "20200303"), set("RXA-21", "U")},
			check: func(t *testing.T, doses []Dose) {
				want(t, len(doses) == 2 && doses[0].Date == "20200303" && doses[0].ID == "SBD0000001", "not updated by dose ID: %+v", doses)
			}},
		{name: "update by CVX and date", edits: []edit{set("ORC-2", ""), set("ORC-3", ""), set("RXA-3", "20200303"), set("RXA-17.1", "SKB"), set("RXA-21", "U")},
			check: func(t *testing.T, doses []Dose) {
				want(t, len(doses) == 2 && doses[0].MVX == "SKB", "not updated by CVX+date: %+v", doses)
			}},
		{name: "update of an unknown dose adds it", edits: []edit{set("ORC-2", ""), set("ORC-3", ""), set("RXA-3", "20200501"), set("RXA-21", "U")},
			check: func(t *testing.T, doses []Dose) {
				want(t, len(doses) == 3 && doses[2].Date == "20200501", "not added: %+v", doses)
			}},
		{name: "delete", edits: []edit{set("ORC-2", ""), set("ORC-3", ""), set("RXA-3", "20200501"), set("RXA-21", "D")},
			check: func(t *testing.T, doses []Dose) {
				want(t, len(doses) == 3 && doses[2].Deleted && !doses[0].Deleted, "not deleted: %+v", doses)
			}},
		{name: "delete of an unknown dose warns", edits: []edit{set("ORC-2", ""), set("ORC-3", ""), set("RXA-3", "20200601"), set("RXA-21", "D")},
			errs: []wantErr{{"RXA^1^21", "204", "W", "3"}},
			check: func(t *testing.T, doses []Dose) {
				want(t, len(doses) == 3, "delete changed the history: %+v", doses)
			}},
		{name: "refusal", edits: []edit{set("ORC-2", ""), set("ORC-3", "9999"), set("RXA-3", "20200601"), set("RXA-5", "21^varicella^CVX"),
			set("RXA-6", "999"), set("RXA-7", ""), set("RXA-9", ""), set("RXA-15", ""), set("RXA-17", ""),
			set("RXA-18", "00^Parental decision^NIP002"), set("RXA-20", "RE")},
			check: func(t *testing.T, doses []Dose) {
				d := doses[len(doses)-1]
				want(t, len(doses) == 4 && d.Refusal && d.Completion == "RE" && d.RefusalReason == "00" && d.FillerID == "",
					"refusal not recorded: %+v", d)
			}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			// Only the first ORDER group is sent after the first step.
			edits := st.edits
			if st.name != "add" && st.name != "same add again is not a duplicate" {
				edits = append([]edit{del("ORC", 2), del("RXA", 2)}, edits...)
			}
			reply := submit(t, s, apply(t, baseVXU, edits...))
			c := iis.Classify(reply)
			if got := errsOf(c); !slices.Equal(got, st.errs) {
				t.Errorf("ERRs %v, want %v\n%s", got, st.errs, lines(reply))
			}
			ps := s.Patients()
			if len(ps) != 1 {
				t.Fatalf("%d patients, want 1", len(ps))
			}
			st.check(t, ps[0].Doses)
		})
	}
}

func want(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// TestPatientMatching checks how a VXU finds its patient.
func TestPatientMatching(t *testing.T) {
	tests := []struct {
		name     string
		edits    []edit
		facility string
		same     bool
	}{
		{name: "same MRN same facility", same: true},
		{name: "same MRN, name changed", edits: []edit{set("PID-5.1", "ZZTESTNEWNAME")}, same: true},
		{name: "same MRN, other facility, same demographics", edits: []edit{set("MSH-4", "ZZOTHER")}, same: true},
		{name: "other MRN, same demographics", edits: []edit{set("PID-3.1", "PAT999")}, same: true},
		{name: "same MRN, other birth date", edits: []edit{set("PID-7", "20191201")}, same: false},
		{name: "other MRN, other sex", edits: []edit{set("PID-3.1", "PAT999"), set("PID-8", "M")}, same: false},
		{name: "same MRN, other facility, other name", edits: []edit{set("MSH-4", "ZZOTHER"), set("PID-5.1", "ZZTESTOTHER")}, same: false},
		{name: "registry ID wins", edits: []edit{set("PID-3", "PAT777^^^ZZCLINIC^MR~SB0000001^^^IISSANDBOX^SR"), set("PID-5.1", "ZZTESTOTHER")}, same: true},
		{name: "SOAP facility ID names the facility", edits: []edit{set("MSH-4", "ZZOTHER"), set("PID-5.1", "ZZTESTOTHER")}, facility: "ZZCLINIC", same: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestIIS(Config{})
			submit(t, s, []byte(baseVXU))
			resp := s.Submit(t.Context(), Request{FacilityID: tc.facility, Message: apply(t, baseVXU, tc.edits...)})
			if c := iis.Classify(resp.Message); c.Verdict != iis.Accepted {
				t.Fatalf("second VXU %s (%s)", c.Verdict, c.Reason)
			}
			ps := s.Patients()
			if got := len(ps) == 1; got != tc.same {
				t.Errorf("%d patients after the second VXU; same patient = %v, want %v", len(ps), got, tc.same)
			}
		})
	}
}

// TestSeparatorsAndDelimiters checks LF-separated input and non-standard
// delimiters: stored values are decoded and re-encoded with the standard
// delimiters.
func TestSeparatorsAndDelimiters(t *testing.T) {
	lf := strings.ReplaceAll(baseVXU, "\r", "\n")
	odd := strings.NewReplacer("|", "#", "^", "!", "~", "$", "&", "%").Replace(
		strings.Replace(baseVXU, "1 ZZTEST Street", `1 ZZTEST \F\ Street`, 1))
	for name, raw := range map[string]string{"LF": lf, "odd delimiters": odd} {
		t.Run(name, func(t *testing.T) {
			s := newTestIIS(Config{})
			reply := submit(t, s, []byte(raw))
			if c := iis.Classify(reply); c.Verdict != iis.Accepted {
				t.Fatalf("%s (%s)\n%s", c.Verdict, c.Reason, lines(reply))
			}
			p := s.Patients()[0]
			if p.Family != "ZZTESTFAMILY" || len(p.Doses) != 2 || !strings.HasPrefix(p.Address, "1 ZZTEST ") || !strings.Contains(p.Address, "^^Bozeman^MT") {
				t.Errorf("stored %+v", p)
			}
			if name == "odd delimiters" && !strings.Contains(p.Address, `\F\`) {
				t.Errorf("escaped field separator lost: %q", p.Address)
			}
			m, err := hl7.Parse(reply)
			in, _ := hl7.Parse([]byte(raw))
			if err != nil || m.Delims() != in.Delims() {
				t.Errorf("ACK does not use the message's delimiters")
			}
		})
	}
}
