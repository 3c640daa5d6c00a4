package query

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iisync/iisync/transforms/iis/chart"
)

// canaries are the test-patient markers of STYLE.md §7.
var canaries = []string{"ZZTEST", "20200101", "PAT123", "ZZREG"}

// safeTexts are the strings of r that are meant to be logged or shown
// without PHI: Reason, the check texts, every Words, and r, its candidates
// and a request printed with every verb.
func safeTexts(r Response, req *Request) []string {
	out := []string{r.Reason, r.Status.Words(), r.Quality.Words(), string(r.Status), string(r.Quality)}
	for _, c := range r.Checks {
		out = append(out, c.ID, c.Text)
	}
	for _, f := range r.Forecast {
		out = append(out, f.Status.Words(), string(f.Status))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		out = append(out, fmt.Sprintf(verb, r), fmt.Sprintf(verb, &r))
		for _, c := range r.Candidates {
			out = append(out, fmt.Sprintf(verb, c))
		}
		if req != nil {
			out = append(out, fmt.Sprintf(verb, *req), fmt.Sprintf(verb, req))
		}
	}
	return out
}

// values lists the patient data of r (demographics, IDs, lot numbers) that
// must never reach a safe text.
func values(r Response) []string {
	var out []string
	demo := func(d chart.Demographics) {
		out = append(out, d.Family, d.Given, d.Middle, d.MotherMaiden, d.MotherGiven, d.BirthDate,
			d.Street, d.City, d.Zip, d.Phone, d.GuardianFamily, d.GuardianGiven)
	}
	if p := r.Patient; p != nil {
		demo(p.Patient)
		out = append(out, p.RegistryID, p.Key.MRN)
		for _, d := range p.Doses {
			out = append(out, d.ID, d.Lot)
		}
	}
	for _, c := range r.Candidates {
		demo(c.Patient)
		out = append(out, c.RegistryID, c.MRN)
	}
	for _, e := range r.Errors {
		out = append(out, e.Message)
	}
	var long []string
	for _, v := range out {
		if len(v) >= 4 { // "F", "MTH" and short codes also occur in plain words
			long = append(long, v)
		}
	}
	return long
}

// TestNoPHIInSafeTexts checks that Parse never puts message values into
// Reason, Check.Text or the Words, and that printing a Response, Candidate
// or Request shows none: for the canary answers of these tests and for
// every sample answer, whose own patient values are checked.
func TestNoPHIInSafeTexts(t *testing.T) {
	type sample struct {
		name  string
		raw   []byte
		asked *Request
	}
	mismatch := asked("")
	mismatch.Chart.Patient.Family = "ZZTESTELSE"
	samples := []sample{
		{"z42", lines(msh("Z42"), "MSA|AA|ZZ-Q-0001", qakOK, qpd, pid, history, forecastRows), asked("")},
		{"disagree", lines(msh("Z32"), "MSA|AA|ZZ-Q-0001", qakOK, "PID|1||PAT123^^^ZZCLINIC^MR||ZZTESTFAMILY^ZZTESTGIVEN||20200102|M", history), mismatch},
		{"candidates", lines(msh("Z31"), "MSA|AA|ZZ-Q-0001", qakOK, pid, pidTwo), asked("Z34")},
		{"errors", lines(msh("Z33"), "MSA|AE|ZZ-Q-0001||PAT123 ZZTESTFAMILY", "ERR||PID^1^5|101^ZZTESTFAMILY^HL70357|E|||||ZZTESTFAMILY 20200101 rejected",
			"QAK|ZZTAG1|AE"), asked("")},
		{"codes that are values", lines(msh("ZZTEST"), "MSA|AA|ZZ-Q-0001", "QAK|ZZTAG1|20200101", pid), nil},
		{"ack code that is a value", lines(msh("ZZTEST"), "MSA|PAT123|ZZ-Q-0001", "QAK|ZZTAG1|ZZTEST", pid), nil},
		{"garbage", []byte("ZZTESTFAMILY 20200101 PAT123"), nil},
		{"not RSP", lines("MSH|^~\\&|ZZTEST|ZZTEST|||20200101||ZZTEST^V04|PAT123|P|2.5.1", pid), nil},
		{"broken", []byte("MSH|^~\\&|ZZTEST\x0bPAT123"), nil},
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "rsp", "*.hl7"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{filepath.Base(f), raw, nil})
	}
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			r := Parse(s.raw, s.asked)
			bad := values(r)
			if strings.Contains(string(s.raw), "ZZTEST") {
				bad = append(bad, canaries...)
			}
			for _, text := range safeTexts(r, s.asked) {
				for _, v := range bad {
					if strings.Contains(text, v) {
						t.Errorf("%q leaks a value (%d bytes)", text, len(v))
					}
				}
			}
		})
	}
}

// TestBuildErrorsHaveNoPHI checks that Build's errors name fields only.
func TestBuildErrorsHaveNoPHI(t *testing.T) {
	c := &chart.Chart{Key: chart.Key{Facility: "ZZTEST", MRN: "PAT123"},
		Patient: chart.Demographics{Family: "ZZTESTFAMILY", BirthDate: "2020010"}}
	_, err := Build(Request{Chart: c, Profile: "ZZTEST"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, m := range canaries {
		if strings.Contains(err.Error(), m) {
			t.Errorf("error %q contains a value", err)
		}
	}
}
