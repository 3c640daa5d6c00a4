package validate

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		sev  map[string]Severity
		want []string // error texts, in order
	}{
		{name: "empty"},
		{name: "known ids", sev: map[string]Severity{"mqe.address_missing": Ignore, "profile.value_set": Error, "mqe.temporary_name": Info}},
		{name: "unknown id", sev: map[string]Severity{"mqe.no_such_rule": Error},
			want: []string{`severities.mqe.no_such_rule: unknown rule id "mqe.no_such_rule" (see validate.Rules)`}},
		{name: "bad severity", sev: map[string]Severity{"profile.usage": "fatal"},
			want: []string{`severities.profile.usage: must be error, warning, info or ignore, got "fatal"`}},
		{name: "empty severity", sev: map[string]Severity{"profile.usage": ""},
			want: []string{`severities.profile.usage: must be error, warning, info or ignore, got ""`}},
		{name: "all problems, sorted", sev: map[string]Severity{"zz.rule": Error, "profile.usage": "E", "aa.rule": Error},
			want: []string{
				`severities.aa.rule: unknown rule id "aa.rule" (see validate.Rules)`,
				`severities.profile.usage: must be error, warning, info or ignore, got "E"`,
				`severities.zz.rule: unknown rule id "zz.rule" (see validate.Rules)`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Severities: tc.sev}.Validate()
			errs := field.Flatten(err)
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors (%v), want %d", len(errs), err, len(tc.want))
			}
			for i, e := range errs {
				var fe *field.Error
				if !errors.As(e, &fe) {
					t.Errorf("error %d is %T, want *field.Error", i, e)
				}
				if e.Error() != tc.want[i] {
					t.Errorf("error %d = %q, want %q", i, e.Error(), tc.want[i])
				}
			}
			if _, nerr := New(Config{Severities: tc.sev}); (nerr != nil) != (len(tc.want) > 0) {
				t.Errorf("New error = %v", nerr)
			}
		})
	}
}

func TestSeverityOverrides(t *testing.T) {
	m := mustParse(t, zztestVXU)
	m, err := m.Set("PID-11", "")
	if err != nil {
		t.Fatal(err)
	}
	m, err = m.Set("PID-7", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sev  map[string]Severity
		want []string
	}{
		{name: "defaults", want: []string{"error PID^1^7 101/7 profile.usage", "warning PID^1^11 101/7 mqe.address_missing"}},
		{name: "address is an error", sev: map[string]Severity{"mqe.address_missing": Error},
			want: []string{"error PID^1^7 101/7 profile.usage", "error PID^1^11 101/7 mqe.address_missing"}},
		{name: "ignore disables", sev: map[string]Severity{"mqe.address_missing": Ignore, "profile.usage": Info},
			want: []string{"info PID^1^7 101/7 profile.usage"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range newTestValidator(t, tc.sev).Validate(m) {
				got = append(got, key(f))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestRulesList checks the rule table: unique ids, valid defaults, a
// description each, and every id documented in doc.go.
func TestRulesList(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	rules := Rules()
	if len(rules) != int(numRules) {
		t.Fatalf("Rules() has %d rules, want %d", len(rules), numRules)
	}
	for _, r := range rules {
		if seen[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		seen[r.ID] = true
		if !r.Default.valid() || r.Default == Ignore {
			t.Errorf("%s: default severity %q", r.ID, r.Default)
		}
		if r.Description == "" {
			t.Errorf("%s: no description", r.ID)
		}
		if !strings.Contains(string(doc), r.ID+" ") {
			t.Errorf("%s is not documented in doc.go", r.ID)
		}
	}
	rules[0].ID = "changed"
	if Rules()[0].ID == "changed" {
		t.Error("Rules returns the package's own slice")
	}
}

func TestErrorDetail(t *testing.T) {
	f := Finding{Rule: "mqe.dose_before_birth", Severity: Warning,
		Location: hl7.Location{Segment: "RXA", Seq: 2, Field: 3}, Code: "999", AppCode: "1",
		Message: "RXA-3 (Date/Time Start of Administration) is before the patient's birth date (PID-7)"}
	want := hl7.ErrorDetail{Location: f.Location, Code: "999", CodeText: "Application error", Severity: 'W',
		AppCode: "1", AppCodeText: "Illogical Date error", UserMessage: f.Message}
	if got := f.ErrorDetail(); got != want {
		t.Errorf("ErrorDetail() = %+v, want %+v", got, want)
	}
	for sev, b := range map[Severity]byte{Error: 'E', Warning: 'W', Info: 'I'} {
		f.Severity = sev
		if got := f.ErrorDetail().Severity; got != b {
			t.Errorf("%s: ERR-4 %c, want %c", sev, got, b)
		}
	}
	f.AppCode = ""
	if got := f.ErrorDetail(); got.AppCode != "" || got.AppCodeText != "" {
		t.Errorf("no app code: got %+v", got)
	}
}

func TestOtherMessagesGiveNothing(t *testing.T) {
	v := newTestValidator(t, nil)
	if v.Validate(nil) != nil {
		t.Error("nil message gave findings")
	}
	for _, typ := range []string{"ADT^A04^ADT_A01", "ACK^V04^ACK", "RSP^K11^RSP_K11", "VXU^V05", "QBP^Q13"} {
		m := mustParse(t, strings.Replace(zztestVXU, "VXU^V04^VXU_V04", typ, 1))
		if fs := v.Validate(m); fs != nil {
			t.Errorf("%s: got %v", typ, fs)
		}
	}
}

// TestProfileChoice checks that a query is checked against the profile
// its MSH-21 (or QPD-1) names.
func TestProfileChoice(t *testing.T) {
	v := newTestValidator(t, nil)
	z34 := strings.NewReplacer("Z44^CDCPHINVS", "Z34^CDCPHINVS", "Z44^Request Evaluated History and Forecast", "Z34^Request Immunization History").Replace(zztestQBP)
	noProfile := strings.Replace(z34, "Z34^CDCPHINVS", "", 1)
	for name, s := range map[string]string{"z44": zztestQBP, "z34": z34, "z34 by QPD-1": noProfile} {
		t.Run(name, func(t *testing.T) {
			for _, f := range v.Validate(mustParse(t, s)) {
				if f.Rule == "profile.constraint" && f.Location.Segment == "QPD" {
					t.Errorf("QPD-1 checked against the wrong profile: %v", f)
				}
			}
		})
	}
}

// TestConcurrent runs one Validator from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	v := newTestValidator(t, nil)
	bad, err := mustParse(t, zztestVXU).Set("RXA-3", "20191231")
	if err != nil {
		t.Fatal(err)
	}
	good := mustParse(t, zztestVXU)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 200 {
				m, want := good, 0
				if i%2 == 1 {
					m, want = bad, 1
				}
				if got := len(v.Validate(m)); got != want {
					t.Errorf("got %d findings, want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
