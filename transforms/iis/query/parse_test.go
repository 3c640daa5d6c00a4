package query

import (
	"slices"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis/chart"
)

// Test answers use the canary markers of STYLE.md §7: ZZTEST names, birth
// date 20200101, MRN PAT123.
const (
	qakOK  = "QAK|ZZTAG1|OK|Z44^Request Evaluated History and Forecast^CDCPHINVS"
	qpd    = "QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|ZZTAG1|PAT123^^^ZZCLINIC^MR|ZZTESTFAMILY^ZZTESTGIVEN^^^^^L||20200101|F"
	pid    = "PID|1||PAT123^^^ZZCLINIC^MR~ZZREG1^^^ZZIIS^SR||ZZTESTFAMILY^ZZTESTGIVEN^^^^^L|ZZTESTMOTHER^^^^^^M|20200101|F"
	pidTwo = "PID|2||ZZREG2^^^ZZIIS^SR||ZZTESTFAMILY^ZZTESTOTHER^^^^^L||20200101|F"
)

// msh is the header of an answer with the given MSH-21 profile.
func msh(profile string) string {
	return "MSH|^~\\&|ZZIIS|ZZIIS|ZZEHR|ZZCLINIC|20250615103000-0500||RSP^K11^RSP_K11|R1|P|2.5.1|||NE|NE|||||" + profile + "^CDCPHINVS"
}

// history is one HepB dose with its evaluation.
var history = []string{
	"ORC|RE||ZZD1^ZZIIS",
	"RXA|0|1|20200101|20200101|08^Hep B, adolescent or pediatric^CVX|0.5|mL^^UCUM||00^New^NIP001|||||||ZZLOT1||MSD^Merck^MVX|||CP|A",
	"RXR|C28161^Intramuscular^NCIT|LT^Left Thigh^HL70163",
	"OBX|1|CE|30956-7^Vaccine type^LN|1|45^Hep B^CVX||||||F",
	"OBX|2|ID|59781-5^Dose validity^LN|1|Y||||||F",
}

// forecastRows is a forecast of two groups.
var forecastRows = []string{
	"ORC|RE||9999^ZZIIS",
	"RXA|0|1|20250615|20250615|998^No vaccine administered^CVX|999||||||||||||||NA",
	"OBX|1|CE|30956-7^Vaccine type^LN|1|45^Hep B^CVX||||||F",
	"OBX|2|CE|59783-1^Status in immunization series^LN|1|LA13423-1^Overdue^LN||||||F",
	"OBX|3|DT|30980-7^Date vaccine due^LN|1|20200201||||||F",
	"OBX|4|CE|30956-7^Vaccine type^LN|2|107^DTaP^CVX||||||F",
	"OBX|5|DT|30980-7^Date vaccine due^LN|2|20250601||||||F",
}

// lines joins segments with CR.
func lines(segs ...any) []byte {
	var out []string
	for _, s := range segs {
		switch v := s.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return []byte(strings.Join(out, "\r") + "\r")
}

// asked is the query for the ZZTEST patient.
func asked(profile string) *Request {
	return &Request{
		Profile: profile, ControlID: "ZZ-Q-0001",
		Chart: &chart.Chart{
			Key:     chart.Key{Facility: "ZZCLINIC", MRN: "PAT123"},
			Patient: chart.Demographics{Family: "ZZTESTFAMILY", Given: "ZZTESTGIVEN", BirthDate: "20200101", Sex: "F"},
		},
	}
}

func TestParse(t *testing.T) {
	z42 := lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK, qpd, pid, history, forecastRows)
	tests := []struct {
		name       string
		raw        []byte
		asked      *Request
		status     MessageStatus
		quality    Quality
		checks     []string
		doses      int
		forecasts  int
		candidates int
		errors     int
		reason     string // a substring of Reason
	}{
		{name: "Z42 match", raw: z42, asked: asked(""),
			status: StatusReceived, quality: QualityMatch, doses: 1, forecasts: 2,
			reason: "Z42 AA/OK: received, match; 1 dose, 2 forecasts"},
		{name: "LF line ends", raw: []byte(strings.ReplaceAll(string(z42), "\r", "\n")),
			status: StatusReceived, quality: QualityMatch, doses: 1, forecasts: 2},
		{name: "CRLF line ends", raw: []byte(strings.ReplaceAll(string(z42), "\r", "\r\n")),
			status: StatusReceived, quality: QualityMatch, doses: 1, forecasts: 2},
		{name: "MLLP framed", raw: append(append([]byte{0x0b}, z42...), 0x1c, '\r'),
			status: StatusReceived, quality: QualityMatch, doses: 1, forecasts: 2},
		{name: "batch wrapped", raw: lines("FHS|^~\\&|ZZIIS", "BHS|^~\\&|ZZIIS", string(z42[:len(z42)-1]), "BTS|1", "FTS|1"),
			status: StatusReceived, quality: QualityMatch, doses: 1, forecasts: 2},
		{name: "MSA AE + QAK OK + data, MSA-6 0 (VA)", raw: lines(msh("Z42"), "MSA|AE|ZZ-Q-0001||0||0^Message Accepted^HL70357", qakOK, qpd, pid, history),
			status: StatusReceivedWithWarnings, quality: QualityMatch, doses: 1, checks: []string{CheckForecastMissing}},
		{name: "MSA AE + QAK AE + ERR W + data (WI, NYC)", raw: lines(msh("Z42"), "MSA|AE|ZZ-Q-0001",
			"ERR||QPD^1^8|102^Data type error^HL70357|W|4^Invalid value^HL70533|||Address type is required",
			"QAK|ZZTAG1|AE|Z44^Request Immunization History^HL70471", qpd, pid, history, forecastRows),
			status: StatusReceivedWithWarnings, quality: QualityMatch, doses: 1, forecasts: 2, errors: 1},
		{name: "AE without severity", raw: lines(msh("Z42"), "MSA|AE|ZZ-Q-0001", "ERR||PID^1^5|101^Required field missing^HL70357",
			qakOK, qpd, pid, history, forecastRows),
			status: StatusReceivedWithErrors, quality: QualityMatch, doses: 1, forecasts: 2, errors: 1},
		{name: "AE without any ERR", raw: lines(msh("Z33"), "MSA|AE|ZZ-Q-0001", "QAK|ZZTAG1|AE"),
			status: StatusReceivedWithErrors, quality: QualityRejected},
		{name: "AA with an informational ERR", raw: lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", "ERR||PID^1^11|0^Message accepted^HL70357|I",
			qakOK, qpd, pid, history, forecastRows),
			status: StatusReceivedWithWarnings, quality: QualityMatch, doses: 1, forecasts: 2, errors: 1},
		{name: "AA with a warning (ID)", raw: lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", "ERR||PID^1^11|102^Data type error^HL70357|W",
			qakOK, qpd, pid, history, forecastRows),
			status: StatusReceivedWithWarnings, quality: QualityMatch, doses: 1, forecasts: 2, errors: 1},
		{name: "Z32 for Z44", raw: lines(msh("Z32"), "MSA|AA|ZZ-Q-0001", qakOK, qpd, pid, history), asked: asked("Z44"),
			status: StatusReceived, quality: QualityMatch, doses: 1,
			checks: []string{CheckProfileSubstituted, CheckForecastMissing}},
		{name: "Z32 for Z44, query read from QAK-3", raw: lines(msh("Z32"), "MSA|AA|ZZ-Q-0001", "QAK|ZZTAG1|OK|Z44", pid, history),
			status: StatusReceived, quality: QualityMatch, doses: 1,
			checks: []string{CheckProfileSubstituted, CheckForecastMissing}},
		{name: "Z32 for Z34", raw: lines(msh("Z32"), "MSA|AA|ZZ-Q-0001", qakOK, qpd, pid, history), asked: asked("Z34"),
			status: StatusReceived, quality: QualityMatch, doses: 1},
		{name: "Z33 NF", raw: lines(msh("Z33"), "MSA|AA|ZZ-Q-0001", "QAK|ZZTAG1|NF|Z44", qpd), asked: asked(""),
			status: StatusReceived, quality: QualityNoMatch, reason: "Z33 AA/NF: received, no_match"},
		{name: "Z33 TM", raw: lines(msh("Z33"), "MSA|AA|ZZ-Q-0001", "QAK|ZZTAG1|TM|Z44", qpd), asked: asked(""),
			status: StatusReceived, quality: QualityTooMany},
		{name: "Z33 AE", raw: lines(msh("Z33"), "MSA|AE|ZZ-Q-0001",
			"ERR||QPD^1^6|101^Required field missing^HL70357|E|7^Required data missing^HL70533|||Patient birth date is missing",
			"QAK|ZZTAG1|AE|Z44", qpd), asked: asked(""),
			status: StatusReceivedWithErrors, quality: QualityRejected, errors: 1},
		{name: "Z33 AR", raw: lines(msh("Z33"), "MSA|AR|ZZ-Q-0001", "QAK|ZZTAG1|AR"),
			status: StatusReceivedWithErrors, quality: QualityRejected},
		{name: "protected data", raw: lines(msh("Z33"), "MSA|AA|ZZ-Q-0001", "QAK|ZZTAG1|PD"),
			status: StatusReceived, quality: QualityRejected},
		{name: "QAK OK without a patient", raw: lines(msh("Z33"), "MSA|AA|ZZ-Q-0001", qakOK),
			status: StatusReceived, quality: QualityUnknown},
		{name: "ACK instead of RSP", raw: lines("MSH|^~\\&|ZZIIS|ZZIIS|||20250615||ACK^Q11^ACK|R1|P|2.5.1",
			"MSA|AR|ZZ-Q-0001", "ERR||MSH^1^9|200^Unsupported message type^HL70357|E"),
			status: StatusReceivedWithErrors, quality: QualityRejected, errors: 1},
		{name: "Z31 candidates", raw: lines(msh("Z31"), "MSA|AA|ZZ-Q-0001", qakOK, qpd, pid, "NK1|1|ZZTESTMOTHER^ZZTESTGIVEN|MTH", pidTwo),
			status: StatusReceived, quality: QualityCandidates, candidates: 2, reason: "2 candidates"},
		{name: "Z31 with one candidate", raw: lines(msh("Z31"), "MSA|AA|ZZ-Q-0001", qakOK, pid),
			status: StatusReceived, quality: QualityCandidates, candidates: 1},
		{name: "several PIDs in a Z32", raw: lines(msh("Z32"), "MSA|AA|ZZ-Q-0001", qakOK, pid, history, pidTwo, history),
			status: StatusReceived, quality: QualityCandidates, candidates: 2},
		{name: "demographics disagree", raw: lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK,
			"PID|1||ZZREG1^^^ZZIIS^SR||ZZTESTOTHER^ZZTESTGIVEN^^^^^L||20200102|M", forecastRows),
			asked: asked(""), status: StatusReceived, quality: QualityMatch, forecasts: 2,
			checks: []string{CheckDemographicsDisagree}},
		{name: "names compare without case and punctuation", raw: lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK,
			"PID|1||ZZREG1^^^ZZIIS^SR||zztest-family^ZZTESTGIVEN||202001011230|F", forecastRows),
			asked: asked(""), status: StatusReceived, quality: QualityMatch, forecasts: 2},
		{name: "no registry ID", raw: lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK, "PID|1||PAT123^^^ZZCLINIC^MR||ZZTESTFAMILY^ZZTESTGIVEN||20200101|F", forecastRows),
			status: StatusReceived, quality: QualityMatch, forecasts: 2, checks: []string{CheckNoRegistryID}},
		{name: "control ID mismatch", raw: lines(msh("Z33"), "MSA|AA|ZZ-Q-9999", "QAK|ZZTAG1|NF"), asked: asked(""),
			status: StatusReceived, quality: QualityNoMatch, checks: []string{CheckControlIDMismatch}},
		{name: "no MSA", raw: lines(msh("Z42"), qakOK, pid, history),
			status: StatusUnreadable, quality: QualityMatch, doses: 1, checks: []string{CheckForecastMissing}, reason: "unreadable: no MSA segment"},
		{name: "MSA-1 not a code", raw: lines(msh("Z33"), "MSA|XX|ZZ-Q-0001", "QAK|ZZTAG1|NF"),
			status: StatusUnreadable, quality: QualityNoMatch, reason: "unreadable:"},
		{name: "a VXU", raw: lines("MSH|^~\\&|ZZEHR|ZZCLINIC|||20250615||VXU^V04^VXU_V04|1|P|2.5.1", pid),
			status: StatusUnreadable, quality: QualityUnknown, reason: "unreadable: message type is not RSP"},
		{name: "garbage", raw: []byte("ZZTESTFAMILY 20200101 PAT123"),
			status: StatusUnreadable, quality: QualityUnknown, reason: "unreadable: no MSH segment"},
		{name: "empty", raw: nil, status: StatusUnreadable, quality: QualityUnknown},
		{name: "bad delimiters", raw: []byte("MSH|\r"), status: StatusUnreadable, quality: QualityUnknown, reason: "not an HL7 message"},
		{name: "HTML error page", raw: []byte("<html><body>503 Service Unavailable</body></html>"),
			status: StatusUnreadable, quality: QualityUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Parse(tc.raw, tc.asked)
			if r.Status != tc.status || r.Quality != tc.quality {
				t.Errorf("status %s quality %s, want %s %s (%s)", r.Status, r.Quality, tc.status, tc.quality, r.Reason)
			}
			var ids []string
			for _, c := range r.Checks {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.checks) {
				t.Errorf("checks %v, want %v", ids, tc.checks)
			}
			doses := 0
			if r.Patient != nil {
				doses = len(r.Patient.Doses)
			}
			if doses != tc.doses || len(r.Forecast) != tc.forecasts || len(r.Candidates) != tc.candidates || len(r.Errors) != tc.errors {
				t.Errorf("%d doses, %d forecasts, %d candidates, %d errors; want %d %d %d %d",
					doses, len(r.Forecast), len(r.Candidates), len(r.Errors), tc.doses, tc.forecasts, tc.candidates, tc.errors)
			}
			if (r.Patient != nil) != (tc.quality == QualityMatch) {
				t.Errorf("Patient set: %v, quality %s", r.Patient != nil, r.Quality)
			}
			if !strings.Contains(r.Reason, tc.reason) || r.Reason == "" {
				t.Errorf("reason %q, want it to contain %q", r.Reason, tc.reason)
			}
			for _, e := range r.Errors {
				if e.Explanation == "" {
					t.Errorf("error %v has no explanation", e)
				}
			}
		})
	}
}

func TestParsePatient(t *testing.T) {
	raw := lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK, qpd, pid, "PD1|||||||||||02|N||||A", "NK1|1|ZZTESTMOTHER^ZZTESTGIVEN|MTH",
		history,
		// The same filler order number twice: both doses get rxa-N.
		"ORC|RE||ZZDUP^ZZIIS", "RXA|0|1|20200301|20200301|20^DTaP^CVX|999|||01",
		"ORC|RE||ZZDUP^ZZIIS", "RXA|0|1|20200301|20200301|10^IPV^CVX|999|||01",
		// The 9999 placeholder is not an ID.
		"ORC|RE||9999^ZZIIS", "RXA|0|1|20200201|20200201|116^Rotavirus^CVX|999|||01",
		// A refusal: an indicator, not a dose.
		"ORC|RE||9999^ZZIIS", "RXA|0|1|20210101|20210101|21^varicella^CVX|999||||||||||||00^Parental decision^NIP002||RE",
		// Not administered, with a contraindication.
		"ORC|RE||9999^ZZIIS", "RXA|0|1|20210101|20210101|03^MMR^CVX|999||||||||||||||NA",
		"OBX|1|CE|30945-0^Contraindication^LN|1|VXC23^Current fever^CDCPHINVS||||||F|||20210101",
		// Immunity on a forecast row, next to a forecast group.
		forecastRows,
		"OBX|6|CE|59784-9^Disease with presumed immunity^LN|3|38907003^Varicella infection^SCT||||||F|||20220101",
	)
	r := Parse(raw, asked(""))
	p := r.Patient
	if p == nil {
		t.Fatalf("no patient: %s", r.Reason)
	}
	if p.Key != (chart.Key{Facility: "ZZCLINIC", MRN: "PAT123"}) || p.RegistryID != "ZZREG1" {
		t.Errorf("key %+v registry ID %q", p.Key, p.RegistryID)
	}
	if p.Patient.Family != "ZZTESTFAMILY" || p.Patient.MotherMaiden != "ZZTESTMOTHER" || p.Patient.GuardianRelation != "MTH" || p.Patient.Publicity != "02" {
		t.Errorf("demographics %+v", p.Patient)
	}
	if want := "2025-06-15T15:30:00Z"; p.Updated.Format("2006-01-02T15:04:05Z07:00") != want {
		t.Errorf("updated %v, want %s", p.Updated, want)
	}
	var got []string
	for _, d := range p.Doses {
		got = append(got, d.ID+" "+d.Date+" "+d.CVX+" "+d.Valid)
	}
	want := []string{"ZZD1 20200101 08 Y", "rxa-4 20200201 116 ", "rxa-3 20200301 10 ", "rxa-2 20200301 20 "}
	if !slices.Equal(got, want) {
		t.Errorf("doses\n%q\nwant\n%q", got, want)
	}
	var kinds []string
	for _, in := range p.Indicators {
		kinds = append(kinds, string(in.Kind)+" "+in.Code+" "+in.CVX)
	}
	wantKinds := []string{"contraindication VXC23 03", "immunity 38907003 ", "refusal 00 21"}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("indicators %q, want %q", kinds, wantKinds)
	}
	if len(r.Forecast) != 2 || r.Forecast[0].Group != "HepB" || r.Forecast[1].Group != "DTAP" {
		t.Errorf("forecast %+v", r.Forecast)
	}
	// Stable: the same answer gives the same IDs.
	if again := Parse(raw, asked("")); !slices.EqualFunc(again.Patient.Doses, p.Doses, func(a, b chart.Dose) bool { return a.ID == b.ID }) {
		t.Error("dose IDs differ between two parses")
	}
}

func TestForecastRows(t *testing.T) {
	row := func(obx ...string) []byte {
		return lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK, pid, "ORC|RE||9999",
			"RXA|0|1|20250615|20250615|998^No vaccine administered^CVX|999", obx)
	}
	tests := []struct {
		name string
		raw  []byte
		want []Forecast
	}{
		{name: "dates and codes", raw: row(
			"OBX|1|CE|30956-7^Vaccine type^LN|1|03^MMR^CVX||||||F",
			"OBX|2|CE|59779-9^Schedule^LN|1|VXC16^ACIP^CDCPHINVS||||||F",
			"OBX|3|NM|30973-2^Dose number^LN|1|2|NA^^HL70353|||||F",
			"OBX|4|DT|30981-5^Earliest^LN|1|20240101||||||F",
			"OBX|5|DT|30980-7^Due^LN|1|20240201||||||F",
			"OBX|6|DT|59777-3^Latest^LN|1|20990101||||||F",
			"OBX|7|DT|59778-1^Overdue^LN|1|20240301000000||||||F",
			"OBX|8|CE|59783-1^Status^LN|1|P^Past Due^STC0002||||||F",
			"OBX|9|ST|30982-3^Reason^LN|1|ACIP schedule||||||F"),
			want: []Forecast{{Group: "MMR", CVX: "03", VaccineText: "MMR", Status: ForecastOverdue, StatusText: "Past Due",
				DoseNumber: "2", Earliest: "20240101", Due: "20240201", Latest: "20990101", Overdue: "20240301",
				Schedule: "VXC16", Reason: "ACIP schedule"}}},
		{name: "status from dates", raw: row(
			"OBX|1|CE|30956-7^Vaccine type^LN|1|45^HepB^CVX||||||F", "OBX|2|DT|59778-1^Overdue^LN|1|20250615||||||F",
			"OBX|3|CE|30956-7^Vaccine type^LN|2|107^DTaP^CVX||||||F", "OBX|4|DT|30980-7^Due^LN|2|20250101||||||F", "OBX|5|DT|59778-1^Overdue^LN|2|20250616||||||F",
			"OBX|6|CE|30956-7^Vaccine type^LN|3|88^Flu^CVX||||||F", "OBX|7|DT|30980-7^Due^LN|3|20250901||||||F",
			"OBX|8|CE|30956-7^Vaccine type^LN|4|122^Rota^CVX||||||F", "OBX|9|DT|59777-3^Latest^LN|4|20250614||||||F",
			"OBX|10|CE|30956-7^Vaccine type^LN|5|85^HepA^CVX||||||F"),
			want: []Forecast{
				{Group: "HepB", CVX: "45", VaccineText: "HepB", Status: ForecastOverdue, Overdue: "20250615"},
				{Group: "DTAP", CVX: "107", VaccineText: "DTaP", Status: ForecastDue, Due: "20250101", Overdue: "20250616"},
				{Group: "FLU", CVX: "88", VaccineText: "Flu", Status: ForecastNotComplete, Due: "20250901"},
				{Group: "ROTAVIRUS", CVX: "122", VaccineText: "Rota", Status: ForecastAgedOut, Latest: "20250614"},
				{Group: "HepA", CVX: "85", VaccineText: "HepA", Status: ForecastUnknown},
			}},
		{name: "sub-ID never changes, vaccines due next (DelVax)", raw: row(
			"OBX|1|CE|30979-9^Vaccine Due Next^LN|1|20^DTaP^CVX||||||F",
			"OBX|2|TS|30979-9&30980-7^Date Vaccine Due^LN|1|20131121||||||F",
			"OBX|3|CE|30979-9^Vaccine Due Next^LN|1|62^HPV4^CVX||||||F",
			"OBX|4|TS|30979-9&30980-7^Date Vaccine Due^LN|1|20300101||||||F"),
			want: []Forecast{
				{Group: "DTAP", CVX: "20", VaccineText: "DTaP", Status: ForecastDue, Due: "20131121"},
				{Group: "HPV", CVX: "62", VaccineText: "HPV4", Status: ForecastNotComplete, Due: "20300101"},
			}},
		{name: "unknown vaccine, text kept", raw: row("OBX|1|CE|30956-7^Vaccine type^LN|1|^Zoster^LOCAL||||||F",
			"OBX|2|CE|59783-1^Status^LN|1|C^Series complete^LOCAL||||||F"),
			want: []Forecast{{Group: "Zoster", VaccineText: "Zoster", Status: ForecastComplete, StatusText: "Series complete"}}},
		{name: "alternate CVX triplet, combination group by text", raw: row(
			"OBX|1|CE|30956-7^Vaccine type^LN|1|90710^Varicella^CPT^94^MMRV^CVX||||||F"),
			want: []Forecast{{Group: "MMR", CVX: "94", VaccineText: "MMRV", Status: ForecastUnknown}}},
		{name: "group without a vaccine is dropped", raw: row("OBX|1|DT|30980-7^Due^LN|1|20250101||||||F"),
			want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.raw, nil).Forecast
			if !slices.Equal(got, tc.want) {
				t.Errorf("forecast\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestForecastOnHistoryRow(t *testing.T) {
	// DelVax hangs "vaccines due next" on the last history RXA; the dose
	// stays a dose and its evaluation stays with it.
	raw := lines(msh("Z32"), "MSA|AA|ZZ-Q-0001", qakOK, pid, history,
		"OBX|3|CE|30979-9^Vaccine Due Next^LN|2|20^DTaP^CVX||||||F",
		"OBX|4|TS|30979-9&30980-7^Date Vaccine Due^LN|2|20200301||||||F")
	r := Parse(raw, nil)
	if r.Patient == nil || len(r.Patient.Doses) != 1 || r.Patient.Doses[0].Valid != "Y" {
		t.Fatalf("doses %+v", r.Patient)
	}
	if len(r.Forecast) != 1 || r.Forecast[0].CVX != "20" || r.Forecast[0].Due != "20200301" {
		t.Errorf("forecast %+v", r.Forecast)
	}
}

func TestNormaliseStatus(t *testing.T) {
	// The values of shared testdata/codes/status_in_series_59783-1_observed.tsv.
	tests := []struct {
		code, text, system string
		want               ForecastStatus
	}{
		{"LA13421-5", "Complete", "LN", ForecastComplete},
		{"LA13422-3", "On Schedule", "LN", ForecastNotComplete},
		{"LA13423-1", "Overdue", "LN", ForecastOverdue},
		{"LA13424-9", "Too Old", "LN", ForecastAgedOut},
		{"LA13421-5", "Not Recommended - Series Complete", "LN", ForecastComplete},
		{"LA13424-9", "Not Recommended - Too old", "LN", ForecastAgedOut},
		{"", "Not Recommended - Too old", "", ForecastAgedOut},
		{"", "Not Recommended - Series Complete", "", ForecastComplete},
		{"P", "Past Due", "STC0002", ForecastOverdue},
		{"U", "Up to Date", "STC0002", ForecastNotComplete},
		{"D", "Due Now", "STC0002", ForecastDue},
		{"O", "", "TCH", ForecastOverdue},
		{"D", "", "LSVF", ForecastDue},
		{"1", "Complete", "eval_result_id", ForecastComplete},
		{"4", "Overdue", "eval_result_id", ForecastOverdue},
		{"3", "Incomplete", "eval_result_id", ForecastNotComplete},
		{"Complete", "", "", ForecastComplete},
		{"Overdue", "", "", ForecastOverdue},
		{"Up to Date", "", "", ForecastNotComplete},
		{"1 of 5", "In progress", "SeriesStatus", ForecastNotComplete},
		{"", "Booster", "SeriesStatus", ForecastUnknown},
		{"", "Not Valid", "SeriesStatus", ForecastUnknown},
		{"", "Immune", "", ForecastImmune},
		{"", "Contraindicated", "", ForecastContraindicated},
		{"", "Not recommended", "", ForecastNotRecommended},
		{"X", "", "", ForecastUnknown},
	}
	for _, tc := range tests {
		if got := normaliseStatus(tc.code, tc.text, tc.system); got != tc.want {
			t.Errorf("normaliseStatus(%q, %q, %q) = %s, want %s", tc.code, tc.text, tc.system, got, tc.want)
		}
	}
}

func TestNotReceived(t *testing.T) {
	r := NotReceived("connection refused")
	if r.Status != StatusNotReceived || r.Quality != QualityUnknown || r.Reason != "not received: connection refused" {
		t.Errorf("%+v", r)
	}
	if NotReceived("").Reason == "" {
		t.Error("empty reason")
	}
}

func TestWords(t *testing.T) {
	seen := map[string]bool{}
	for _, w := range []string{
		StatusReceived.Words(), StatusReceivedWithWarnings.Words(), StatusReceivedWithErrors.Words(),
		StatusNotReceived.Words(), StatusUnreadable.Words(),
		QualityMatch.Words(), QualityNoMatch.Words(), QualityTooMany.Words(), QualityCandidates.Words(),
		QualityRejected.Words(), QualityUnknown.Words(),
		ForecastComplete.Words(), ForecastNotComplete.Words(), ForecastOverdue.Words(), ForecastDue.Words(),
		ForecastImmune.Words(), ForecastContraindicated.Words(), ForecastAgedOut.Words(),
		ForecastNotRecommended.Words(), ForecastUnknown.Words(),
	} {
		if w == "" || seen[w] {
			t.Errorf("Words %q empty or repeated", w)
		}
		seen[w] = true
	}
	if MessageStatus("bogus").Words() == "" || Quality("bogus").Words() == "" || ForecastStatus("bogus").Words() == "" {
		t.Error("unknown values need words too")
	}
}
