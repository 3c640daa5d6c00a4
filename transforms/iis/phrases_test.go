package iis

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/iisync/iisync/conf/field"
)

func TestContainsPhrase(t *testing.T) {
	tests := []struct {
		text, phrase string
		want         bool
	}{
		{"RECORD REJECTED", "rejected", true},
		{"Message rejected.", "REJECTED", true},
		{"rejected", "rejected", true},
		{"UNREJECTEDX", "rejected", false},
		{"unrejected", "rejected", false},
		{"rejectedness", "rejected", false},
		{"REJECTED_1", "rejected", false}, // '_' is a word character
		{"(rejected)", "rejected", true},
		{"Message was NOT\tACCEPTED", "not accepted", true},
		{"message   not\r\naccepted", "not  accepted", true},
		{"notaccepted", "not accepted", false},
		{"record not processed: duplicate", "record not processed", true},
		{"RXA #2 IGNORED - REQUIRED FIELD RXA-5", "IGNORED - REQUIRED FIELD RXA-", true},
		{"PID #1 IGNORED", "pid #1 ignored", true},
		{"PID #12 IGNORED", "pid #1 ignored", false},
		{"Rejeté", "REJETÉ", true},
		{"éREJECTED", "rejected", false}, // é is a letter: inside a word
		{"  rejected  ", "  rejected ", true},
		{"anything", "", false},
		{"anything - at all", " - ", false}, // no letter or digit: never matches
		{"", "rejected", false},
		{"rejecte", "rejected", false},
		{"Ablehnung", "ablehnung", true},
		{"\xffrejected\xfe", "rejected", true}, // invalid UTF-8 is not a word character
	}
	for _, tc := range tests {
		if got := containsPhrase(tc.text, tc.phrase); got != tc.want {
			t.Errorf("containsPhrase(%q, %q) = %v, want %v", tc.text, tc.phrase, got, tc.want)
		}
	}
}

func TestClassifyWith(t *testing.T) {
	const (
		errW = "ERR||RXR^1^2^1^1|999^Application error^HL70357|W|5^Table value not found^HL70533"
		errE = "ERR||RXA^1^5^1^1|999^Application error^HL70357|E|5^Table value not found^HL70533"
		err0 = "ERR|||207^Application internal error^HL70357"
	)
	nm := Rules{RejectPhrases: []string{"RECORD REJECTED", "IGNORED - REQUIRED FIELD RXA-"}, WarningPhrases: []string{"NO VALUE STORED"}}
	webiz := Rules{WarningPhrases: []string{"queued for processing"}}
	off := Rules{RejectPhrases: []string{}, WarningPhrases: []string{}}
	tests := []struct {
		name   string
		in     []byte
		rules  Rules
		want   Verdict
		reason string
	}{
		{"default: rejected in MSA-3", ack("MSA|AA|C1|Message REJECTED"), Rules{}, Rejected, "rejected: AA; reject phrase in MSA-3"},
		{"default: not accepted in ERR-8", ack("MSA|AA|C1", errW+"|||Dose not accepted"), Rules{}, Rejected,
			"rejected: AA, 1 warning (RXR^1^2^1^1 Table value not found); reject phrase in ERR-8"},
		{"default: record not processed", ack("MSA|AA|C1|Record not processed"), Rules{}, Rejected, "rejected: AA; reject phrase in MSA-3"},
		{"default: message not processed", ack("MSA|AE|C1", errW+"|||MESSAGE NOT PROCESSED"), Rules{}, Rejected,
			"rejected: AE, 1 warning (RXR^1^2^1^1 Table value not found); reject phrase in ERR-8"},
		{"default: accepted with warnings on AA", ack("MSA|AA|C1|Message accepted with warnings"), Rules{}, AcceptedWithWarnings,
			"accepted_with_warnings: AA; warning phrase in MSA-3"},
		{"default: accepted with errors on unrated AE", ack("MSA|AE|C1|Accepted with errors", err0), Rules{}, AcceptedWithWarnings,
			"accepted_with_warnings: AE, 1 without severity (Application internal error); warning phrase in MSA-3"},
		{"default: warning phrase does not overrule E", ack("MSA|AE|C1|Accepted with errors", errE), Rules{}, Rejected,
			"rejected: AE, 1 error (RXA^1^5^1^1 Table value not found)"},
		{"default: warning phrase does not overrule AR", ack("MSA|AR|C1|Accepted with warnings"), Rules{}, Rejected, "rejected: AR"},
		{"default: warning phrase leaves unknown", ack("MSA|ZZ|C1|Accepted with warnings"), Rules{}, Unknown, "unknown: MSA-1 not an acknowledgement code"},
		{"default: reject beats warning", ack("MSA|AA|C1|Accepted with warnings", errW+"|||record rejected"), Rules{}, Rejected,
			"rejected: AA, 1 warning (RXR^1^2^1^1 Table value not found); reject phrase in ERR-8"},
		{"default: AA warnings already", ack("MSA|AA|C1|Accepted with warnings", errW), Rules{}, AcceptedWithWarnings,
			"accepted_with_warnings: AA, 1 warning (RXR^1^2^1^1 Table value not found)"},
		{"NM: record rejected", ack("MSA|AA|C1|RECORD REJECTED"), nm, Rejected, "rejected: AA; reject phrase in MSA-3"},
		{"NM: RXA ignored", ack("MSA|AA|C1|WARNING: RXA #2 IGNORED - REQUIRED FIELD RXA-5 MISSING"), nm, Rejected, "rejected: AA; reject phrase in MSA-3"},
		{"NM: no value stored", ack("MSA|AA|C1|NO VALUE STORED.", "ERR||OBX^2^3^0|204^Unknown key identifier^HL70357"), nm, AcceptedWithWarnings,
			"accepted_with_warnings: AA, 1 without severity (OBX^2^3^0 Unknown key identifier); warning phrase in MSA-3"},
		{"NM rules replace the defaults", ack("MSA|AA|C1|Message not accepted"), nm, Accepted, "accepted: AA"},
		{"nil reject list keeps the default", ack("MSA|AA|C1|Message rejected"), webiz, Rejected, "rejected: AA; reject phrase in MSA-3"},
		{"own warning phrase on unrated AE", ack("MSA|AE|C1|Queued for processing", err0), webiz, AcceptedWithWarnings,
			"accepted_with_warnings: AE, 1 without severity (Application internal error); warning phrase in MSA-3"},
		{"rules off: rejected ignored", ack("MSA|AA|C1|Message rejected"), off, Accepted, "accepted: AA"},
		{"rules off: unrated AE rejected", ack("MSA|AE|C1|Accepted with warnings", err0), off, Rejected,
			"rejected: AE, 1 without severity (Application internal error); no ERR severity given"},
		{"invalid phrase never matches", ack("MSA|AA|C1|-"), Rules{RejectPhrases: []string{"-", " "}}, Accepted, "accepted: AA"},
		{"worst group carries the phrase", ack("MSA|AA|C1|ok", "MSA|AA|C1|RECORD REJECTED"), nm, Rejected,
			"rejected: AA; reject phrase in MSA-3; 2 MSA segments, worst used"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ClassifyWith(tc.in, tc.rules)
			if c.Verdict != tc.want || c.Reason != tc.reason {
				t.Errorf("got %s %q\nwant %s %q", c.Verdict, c.Reason, tc.want, tc.reason)
			}
		})
	}
}

// TestClassifyWithDefaultsEqualClassify checks Classify is ClassifyWith the
// default rules, spelled out or zero, over every sample.
func TestClassifyWithDefaultsEqualClassify(t *testing.T) {
	for name, b := range corpus(t) {
		want := fmt.Sprint(Classify(b).Verdict, Classify(b).Reason)
		for _, r := range []Rules{{}, DefaultRules(), DefaultRules().WithDefaults()} {
			c := ClassifyWith(b, r)
			if got := fmt.Sprint(c.Verdict, c.Reason); got != want {
				t.Errorf("%s: %s, Classify %s", name, got, want)
			}
		}
	}
}

// TestClassifyWithReasonPHIFree puts the PHI markers into matching registry
// text and checks that Reason says only where a phrase matched.
func TestClassifyWithReasonPHIFree(t *testing.T) {
	r := Rules{RejectPhrases: []string{"ZZTEST REJECTED"}, WarningPhrases: []string{"PAT123 warned"}}
	for _, in := range [][]byte{
		ack("MSA|AA|C1|Patient ZZTEST REJECTED born 20200101"),
		ack("MSA|AA|C1", "ERR|||101|W||||ZZTEST rejected PAT123"),
		ack("MSA|AA|C1|PAT123 warned 20200101"),
	} {
		c := ClassifyWith(in, r)
		if !strings.Contains(c.Reason, " phrase in ") {
			t.Errorf("reason %q names no phrase", c.Reason)
		}
		for _, mk := range []string{"ZZTEST", "PAT123", "20200101"} {
			if strings.Contains(c.Reason, mk) || strings.Contains(fmt.Sprintf("%v %+v %#v", c, c, c), mk) {
				t.Errorf("marker %s leaked: %s", mk, c.Reason)
			}
		}
	}
}

func TestRulesDefaults(t *testing.T) {
	d := DefaultRules()
	if !slices.Contains(d.RejectPhrases, "rejected") || len(d.WarningPhrases) == 0 {
		t.Fatalf("defaults %+v", d)
	}
	d.RejectPhrases[0] = "changed"
	if DefaultRules().RejectPhrases[0] != "rejected" {
		t.Error("DefaultRules returned the package's own slice")
	}
	w := Rules{WarningPhrases: []string{}}.WithDefaults()
	if !slices.Equal(w.RejectPhrases, DefaultRules().RejectPhrases) || w.WarningPhrases == nil || len(w.WarningPhrases) != 0 {
		t.Errorf("WithDefaults = %#v", w)
	}
	if err := DefaultRules().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestRulesValidate(t *testing.T) {
	r := Rules{
		RejectPhrases:  []string{"ok", "", "  ", "--"},
		WarningPhrases: []string{"fine", strings.Repeat("x", 201)},
	}
	err := r.Validate()
	want := []string{
		"reject_phrases[1]: must not be empty",
		"reject_phrases[2]: must not be empty",
		`reject_phrases[3]: must contain a letter or digit, got "--"`,
		"warning_phrases[1]: must be at most 200 bytes, got 201",
	}
	var got []string
	for _, e := range field.Flatten(err) {
		var fe *field.Error
		if !errors.As(e, &fe) {
			t.Errorf("%v is not a *field.Error", e)
		}
		got = append(got, e.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if err := (Rules{}).Validate(); err != nil {
		t.Errorf("zero rules: %v", err)
	}
}

// TestRulesYAML pins how conf's strict YAML decoding fills Rules: an absent
// key stays nil (default), an empty list turns the rule off.
func TestRulesYAML(t *testing.T) {
	tests := []struct {
		name, doc string
		reject    []string // nil: expect nil
		warnNil   bool
		err       string
	}{
		{"phrases", "reject_phrases: [RECORD REJECTED, \"not accepted\"]\nwarning_phrases:\n  - no value stored\n", []string{"RECORD REJECTED", "not accepted"}, false, ""},
		{"absent keys", "warning_phrases: []\n", nil, false, ""},
		{"empty list", "reject_phrases: []\n", []string{}, true, ""},
		{"unknown key", "reject_phrase: [x]\n", nil, true, "field reject_phrase not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Rules
			dec := yaml.NewDecoder(strings.NewReader(tc.doc))
			dec.KnownFields(true)
			err := dec.Decode(&r)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (r.RejectPhrases == nil) != (tc.reject == nil) || !slices.Equal(r.RejectPhrases, tc.reject) {
				t.Errorf("reject = %#v, want %#v", r.RejectPhrases, tc.reject)
			}
			if (r.WarningPhrases == nil) != tc.warnNil {
				t.Errorf("warning = %#v, want nil %v", r.WarningPhrases, tc.warnNil)
			}
		})
	}
}

func ExampleClassifyWith() {
	ack := "MSH|^~\\&|NMSIIS|NMSIIS|EHR|CLINIC1|20250101||ACK|A3|P|2.5.1\r" +
		"MSA|AA|MSG00044|INACCURATE OR MISSING OBSERVATION VALUE. NO VALUE STORED.\r" +
		"ERR||OBX^2^3^0|204^Unknown key identifier^HL70357\r"
	nm := Rules{WarningPhrases: []string{"no value stored"}} // reject_phrases keep their default
	fmt.Println(Classify([]byte(ack)))
	fmt.Println(ClassifyWith([]byte(ack), nm))
	// Output:
	// accepted: AA, 1 without severity (OBX^2^3^0 Unknown key identifier)
	// accepted_with_warnings: AA, 1 without severity (OBX^2^3^0 Unknown key identifier); warning phrase in MSA-3
}

func BenchmarkClassifyWith(b *testing.B) {
	in := ack("MSA|AA|C1|INACCURATE OR MISSING OBSERVATION VALUE. NO VALUE STORED.",
		"ERR||OBX^2^3^0|204^Unknown key identifier^HL70357|||||Informational message - please verify insurance")
	r := Rules{RejectPhrases: []string{"RECORD REJECTED", "MESSAGE REJECTED", "IGNORED - REQUIRED FIELD RXA-"},
		WarningPhrases: []string{"NO VALUE STORED"}}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		ClassifyWith(in, r)
	}
}
