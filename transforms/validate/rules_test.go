package validate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/hl7"
)

// edit is a change to a sample message, made with the hl7 edit API.
type edit func(m *hl7.Message) (*hl7.Message, error)

func set(path, value string) edit {
	return func(m *hl7.Message) (*hl7.Message, error) { return m.Set(path, value) }
}

func setRaw(path, value string) edit {
	return func(m *hl7.Message) (*hl7.Message, error) { return m.SetRaw(path, value) }
}

func del(seg string, occ int) edit {
	return func(m *hl7.Message) (*hl7.Message, error) { return m.DeleteSegment(seg, occ) }
}

func insert(after int, seg string) edit {
	return func(m *hl7.Message) (*hl7.Message, error) { return m.InsertSegment(after, seg) }
}

// want is a finding a case expects, written as Finding.String without
// the message: "<severity> <location> <code>/<app> <rule>".
func key(f Finding) string {
	return fmt.Sprintf("%s %s %s/%s %s", f.Severity, FormatLocation(f.Location), f.Code, f.AppCode, f.Rule)
}

func TestSamplesAreClean(t *testing.T) {
	v := newTestValidator(t, nil)
	for name, s := range map[string]string{"vxu": zztestVXU, "qbp": zztestQBP} {
		if fs := v.Validate(mustParse(t, s)); len(fs) != 0 {
			t.Errorf("%s sample: want no findings, got %v", name, fs)
		}
	}
}

// TestRules runs each rule on a small crafted message: the ZZTEST sample
// with one change. want lists findings that must be present; absent lists
// rules that must not fire.
func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		base   string // default zztestVXU
		edits  []edit
		want   []string
		absent []string
	}{
		// profile.structure
		{name: "segment not in profile", edits: []edit{insert(0, "EVN|V04")},
			want: []string{"warning EVN^1 100/ profile.structure"}},
		{name: "PID repeated", edits: []edit{insert(1, "PID|1||PAT123^^^ZZCLINIC^MR||ZZTEST^BETA^^^^^L||20200101|F")},
			want: []string{"warning PID^2 100/ profile.structure"}},
		{name: "NTE out of order", edits: []edit{insert(1, "NTE|1||ZZTEST note")},
			want: []string{"warning NTE^1 100/ profile.structure"}},
		{name: "Z segment skipped", edits: []edit{insert(1, "ZPI|1|x")}, absent: []string{"profile.structure"}},
		{name: "visit group", edits: []edit{insert(1, "PV1|1|R")}, absent: []string{"profile.structure", "profile.usage"}},
		{name: "visit without patient class", edits: []edit{insert(1, "PV1|1")},
			want: []string{"error PV1^1^2 101/7 profile.usage"}},
		{name: "two order groups, the second without ORC",
			edits: []edit{insert(5, "RXA|0|1|20240601||10^IPV^CVX|999|||01^Historical^NIP001|||||||||||CP|A")},
			want:  []string{"error ORC^2 100/7 profile.usage"}},

		// profile.usage
		{name: "PID missing", edits: []edit{del("PID", 1)},
			want: []string{"error PID^1 100/7 profile.usage"}},
		{name: "birth date missing", edits: []edit{set("PID-7", "")},
			want: []string{"error PID^1^7 101/7 profile.usage"}},
		{name: "RXA without ORC", edits: []edit{del("ORC", 1)},
			want: []string{"error ORC^1 100/7 profile.usage"}},
		{name: "ORC without RXA", edits: []edit{del("RXA", 1), del("RXR", 1), del("OBX", 1)},
			want: []string{"error RXA^1 100/7 profile.usage"}},
		{name: "family name missing", edits: []edit{set("PID-5.1", "")},
			want: []string{"error PID^1^5^1^1 101/7 profile.usage"}},
		{name: "given name missing", edits: []edit{set("PID-5.2", "")},
			want: []string{"error PID^1^5^1^2 101/7 profile.usage"}},
		{name: "lot number missing for administered dose", edits: []edit{set("RXA-15", "")},
			want: []string{"error RXA^1^15 101/7 profile.usage"}},
		{name: "lot number not required for historical dose", edits: []edit{set("RXA-15", ""), setRaw("RXA-9", "01^Historical^NIP001")},
			absent: []string{"profile.usage"}},
		{name: "refusal reason missing", edits: []edit{set("RXA-20", "RE"), set("RXA-9", ""), set("RXA-6", "999"), set("ORC-3", "9999")},
			want: []string{"error RXA^1^18 101/7 profile.usage"}},
		{name: "MSH-10 missing", edits: []edit{set("MSH-10", "")},
			want: []string{"error MSH^1^10 101/7 profile.usage"}},

		// profile.component_usage
		{name: "address type missing", edits: []edit{set("PID-11.7", "")},
			want: []string{"warning PID^1^11^1^7 101/7 profile.component_usage"}},
		{name: "name type code missing", edits: []edit{set("PID-5.7", "")},
			want: []string{"warning PID^1^5^1^7 101/7 profile.component_usage"}},

		// profile.cardinality
		{name: "birth date repeated", edits: []edit{setRaw("PID-7", "20200101~20200102")},
			want: []string{"warning PID^1^7^2 102/ profile.cardinality"}},

		// profile.value_set
		{name: "unknown manufacturer", edits: []edit{setRaw("RXA-17", "ZZZ^Unknown^MVX")},
			want: []string{"warning RXA^1^17^1^1 103/5 profile.value_set"}},
		{name: "unknown site", edits: []edit{setRaw("RXR-2", "ZZ^Nowhere^HL70163")},
			want: []string{"warning RXR^1^2^1^1 103/5 profile.value_set"}},
		{name: "unknown route, known alternate", edits: []edit{setRaw("RXR-1", "IM^Intramuscular^HL70162^C28161^Intramuscular^NCIT")},
			absent: []string{"profile.value_set"}},
		{name: "unknown VFC eligibility (IZ-35)", edits: []edit{setRaw("OBX-5", "V99^Unknown^HL70064")},
			want: []string{"warning OBX^1^5^1^1 103/5 profile.value_set"}},
		{name: "unknown information source", edits: []edit{setRaw("RXA-9", "99^Unknown^NIP001")},
			want: []string{"warning RXA^1^9^1^1 103/5 profile.value_set"}},
		{name: "unknown completion status", edits: []edit{set("RXA-20", "ZZ")},
			want: []string{"warning RXA^1^20 103/5 profile.value_set"}},
		{name: "unknown race", edits: []edit{setRaw("PID-10", "9999-9^Unknown^CDCREC")},
			want: []string{"warning PID^1^10^1^1 103/5 profile.value_set"}},

		// profile.constraint
		{name: "RXA-1 not 0 (IZ-28)", edits: []edit{set("RXA-1", "1")},
			want: []string{"warning RXA^1^1 102/4 profile.constraint"}},
		{name: "version not 2.5.1 (IZ-15)", edits: []edit{set("MSH-12", "2.3.1")},
			want: []string{"warning MSH^1^12^1^1 102/4 profile.constraint"}},
		{name: "ORC-1 not RE gives one finding (IZ-25)", edits: []edit{set("ORC-1", "NW")},
			want: []string{"warning ORC^1^1 102/4 profile.constraint"}, absent: []string{"profile.value_set"}},
		{name: "refusal with a filler order number (IZ-45)",
			edits: []edit{set("RXA-20", "RE"), set("RXA-9", ""), set("RXA-6", "999"), set("RXA-7", ""), setRaw("RXA-18", "00^Parental decision^NIP002")},
			want:  []string{"warning ORC^1^3^1^1 102/4 profile.constraint"}},
		{name: "information source on a refusal (IZ-47)",
			edits: []edit{set("RXA-20", "RE"), set("RXA-6", "999"), set("RXA-7", ""), set("ORC-3", "9999"), setRaw("RXA-18", "00^Parental decision^NIP002")},
			want:  []string{"warning RXA^1^9^1^1 102/4 profile.constraint"}},
		{name: "refusal amount not 999 (IZ-48)",
			edits: []edit{set("RXA-20", "RE"), set("RXA-9", ""), set("ORC-3", "9999"), setRaw("RXA-18", "00^Parental decision^NIP002")},
			want:  []string{"warning RXA^1^6 102/4 profile.constraint"}},
		{name: "OBX-4 not a positive integer (IZ-44)", edits: []edit{set("OBX-4", "a")},
			want: []string{"warning OBX^1^4 102/4 profile.constraint"}},

		// profile.data_type
		{name: "birth date with a time", edits: []edit{set("PID-7", "202001011200")},
			want: []string{"warning PID^1^7^1^1 102/2 profile.data_type"}, absent: []string{"mqe.birth_date_invalid"}},
		{name: "message time without zone", edits: []edit{set("MSH-7", "20241231120000")},
			want: []string{"warning MSH^1^7^1^1 102/2 profile.data_type"}},
		{name: "amount not a number", edits: []edit{set("RXA-6", "half")},
			want: []string{"warning RXA^1^6 102/4 profile.data_type"}},

		// MQE-style rules
		{name: "admin date missing", edits: []edit{set("RXA-3", "")},
			want: []string{"error RXA^1^3 101/7 mqe.admin_date_missing"}, absent: []string{"profile.usage"}},
		{name: "admin date invalid", edits: []edit{set("RXA-3", "20241399")},
			want: []string{"error RXA^1^3^1^1 102/2 mqe.admin_date_invalid"}},
		{name: "birth date invalid", edits: []edit{set("PID-7", "2020-01-01")},
			want: []string{"error PID^1^7^1^1 102/2 mqe.birth_date_invalid"}, absent: []string{"profile.data_type"}},
		{name: "birth date in future", edits: []edit{set("PID-7", "20250102"), set("RXA-3", "20250101")},
			want: []string{"error PID^1^7 999/1 mqe.birth_date_in_future"}},
		{name: "dose before birth", edits: []edit{set("RXA-3", "20191231")},
			want: []string{"error RXA^1^3 999/1 mqe.dose_before_birth"}},
		{name: "dose on the birth date", edits: []edit{set("RXA-3", "20200101")},
			absent: []string{"mqe.dose_before_birth"}},
		{name: "dose in future", edits: []edit{set("RXA-3", "20250102")},
			want: []string{"error RXA^1^3 999/1 mqe.dose_in_future"}},
		{name: "dose today", edits: []edit{set("RXA-3", "20250101")},
			absent: []string{"mqe.dose_in_future"}},
		{name: "unknown CVX", edits: []edit{setRaw("RXA-5", "9999^Not a vaccine^CVX")},
			want: []string{"error RXA^1^5^1^1 103/5 mqe.vaccine_code_unknown"}, absent: []string{"profile.value_set"}},
		{name: "unknown NDC", edits: []edit{setRaw("RXA-5", "00000-0000-00^Nothing^NDC")},
			want: []string{"error RXA^1^5^1^1 103/5 mqe.vaccine_code_unknown"}},
		{name: "unknown alternate CVX", edits: []edit{setRaw("RXA-5", "49281-0560-05^Pentacel^NDC^9999^Bad^CVX")},
			want: []string{"error RXA^1^5^1^4 103/5 mqe.vaccine_code_unknown"}},
		{name: "known NDC", edits: []edit{setRaw("RXA-5", "49281-0560-05^Pentacel^NDC")},
			absent: []string{"mqe.vaccine_code_unknown"}},
		{name: "CVX with NDC alternate", edits: []edit{setRaw("RXA-5", "08^Hep B^CVX^58160-0820-11^ENGERIX-B^NDC")},
			absent: []string{"mqe.vaccine_code_unknown", "profile.value_set"}},
		{name: "CVX no longer in use", edits: []edit{setRaw("RXA-5", "01^DTP^CVX")},
			want: []string{"warning RXA^1^3 999/1 mqe.cvx_not_valid_on_date"}},
		{name: "CVX never active", edits: []edit{setRaw("RXA-5", "57^hantavirus^CVX")},
			want: []string{"warning RXA^1^3 999/1 mqe.cvx_not_valid_on_date"}},
		{name: "unspecified CVX for a historical dose", edits: []edit{setRaw("RXA-5", "45^Hep B, unspecified^CVX"), setRaw("RXA-9", "01^Historical^NIP001")},
			absent: []string{"mqe.cvx_not_valid_on_date"}},
		{name: "unspecified CVX for an administered dose", edits: []edit{setRaw("RXA-5", "45^Hep B, unspecified^CVX")},
			want: []string{"warning RXA^1^3 999/1 mqe.cvx_not_valid_on_date"}},
		{name: "sex invalid", edits: []edit{set("PID-8", "Q")},
			want: []string{"error PID^1^8 103/5 mqe.sex_invalid"}},
		{name: "sex X", edits: []edit{set("PID-8", "X")}, absent: []string{"mqe.sex_invalid"}},
		{name: "action code invalid", edits: []edit{set("RXA-21", "Z")},
			want: []string{"error RXA^1^21 103/5 mqe.action_code_invalid"}},
		{name: "VFC OBX missing", edits: []edit{del("OBX", 1)},
			want: []string{"warning RXA^1 101/6 mqe.vfc_obx_missing"}},
		{name: "VFC OBX missing, source absent", edits: []edit{del("OBX", 1), set("RXA-9", "")},
			want: []string{"warning RXA^1 101/6 mqe.vfc_obx_missing"}},
		{name: "VFC OBX not needed for a historical dose", edits: []edit{del("OBX", 1), setRaw("RXA-9", "01^Historical^NIP001")},
			absent: []string{"mqe.vfc_obx_missing"}},
		{name: "VFC OBX not needed for a delete", edits: []edit{del("OBX", 1), set("RXA-21", "D")},
			absent: []string{"mqe.vfc_obx_missing"}},
		{name: "temporary name Baby Girl", edits: []edit{set("PID-5.2", "Baby Girl")},
			want: []string{"warning PID^1^5^1^2 999/4 mqe.temporary_name"}},
		{name: "temporary name BG2", edits: []edit{set("PID-5.2", "BG2")},
			want: []string{"warning PID^1^5^1^2 999/4 mqe.temporary_name"}},
		{name: "temporary name Infant Boy A", edits: []edit{set("PID-5.2", "infant boy a")},
			want: []string{"warning PID^1^5^1^2 999/4 mqe.temporary_name"}},
		{name: "family name Unknown", edits: []edit{set("PID-5.1", "Unknown")},
			want: []string{"warning PID^1^5^1^1 999/4 mqe.temporary_name"}},
		{name: "real name starting like one", edits: []edit{set("PID-5.2", "Babette")},
			absent: []string{"mqe.temporary_name"}},
		{name: "address missing", edits: []edit{set("PID-11", "")},
			want: []string{"warning PID^1^11 101/7 mqe.address_missing"}},

		// queries
		{name: "query without identifier or demographics", base: zztestQBP,
			edits: []edit{set("QPD-3", ""), set("QPD-4", ""), set("QPD-6", "")},
			want: []string{
				"error QPD^1^4^1^1 101/7 mqe.query_demographics_missing",
				"error QPD^1^4^1^2 101/7 mqe.query_demographics_missing",
				"error QPD^1^6 101/7 mqe.query_demographics_missing",
			}},
		{name: "query with identifier only", base: zztestQBP,
			edits:  []edit{set("QPD-4", ""), set("QPD-6", "")},
			absent: []string{"mqe.query_demographics_missing"}},
		{name: "query tag missing", base: zztestQBP, edits: []edit{set("QPD-2", "")},
			want: []string{"error QPD^1^2 101/7 profile.usage"}},
		{name: "query birth date in future", base: zztestQBP, edits: []edit{set("QPD-6", "20260101")},
			want: []string{"error QPD^1^6 999/1 mqe.birth_date_in_future"}},
		{name: "query name does not match profile (IZ-68)", base: zztestQBP, edits: []edit{set("QPD-1.1", "Z34")},
			want: []string{"warning QPD^1^1^1^1 102/4 profile.constraint"}},
		{name: "query RCP missing", base: zztestQBP, edits: []edit{del("RCP", 1)},
			want: []string{"error RCP^1 100/7 profile.usage"}},
		{name: "query continuation not supported", base: zztestQBP, edits: []edit{insert(2, "DSC|1")},
			want: []string{"warning DSC^1 100/ profile.structure"}},
	}
	v := newTestValidator(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == "" {
				base = zztestVXU
			}
			m := mustParse(t, base)
			for i, e := range tc.edits {
				var err error
				if m, err = e(m); err != nil {
					t.Fatalf("edit %d: %v", i, err)
				}
			}
			fs := v.Validate(m)
			got := make([]string, len(fs))
			for i, f := range fs {
				got[i] = key(f)
			}
			for _, w := range tc.want {
				if !contains(got, w) {
					t.Errorf("missing finding %q\n got: %s", w, strings.Join(got, "\n      "))
				}
			}
			for _, a := range tc.absent {
				for _, f := range fs {
					if f.Rule == a {
						t.Errorf("rule %s must not fire, got %v", a, f)
					}
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
