package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// Severity is how much a finding matters: Error (the registry would reject
// the message or the dose), Warning (it would accept with a warning), Info,
// or Ignore (the rule is disabled and produces no finding).
type Severity string

// The severities a rule may have. Findings never carry Ignore.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
	Ignore  Severity = "ignore"
)

// valid reports whether s is one of the four severities.
func (s Severity) valid() bool {
	switch s {
	case Error, Warning, Info, Ignore:
		return true
	}
	return false
}

// Config tunes a Validator. The zero value is usable: every rule keeps its
// default severity and "in the future" is judged against time.Now.
type Config struct {
	// Severities overrides the default severity of rules, by rule id (see
	// Rules). "ignore" disables a rule. Default: empty (all defaults).
	Severities map[string]Severity `yaml:"severities"`
	// Now returns the current time; dates after its calendar day (in its
	// location) are in the future. Default: time.Now.
	Now func() time.Time `yaml:"-"`
}

// WithDefaults returns c with Now set to time.Now when it is nil.
func (c Config) WithDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every unknown rule id and every unknown severity in
// Severities, each as a *field.Error with path "severities.<id>", joined.
func (c Config) Validate() error {
	ids := make([]string, 0, len(c.Severities))
	for id := range c.Severities {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		path := "severities." + id
		if _, ok := ruleIndex[id]; !ok {
			errs = append(errs, field.Errorf(path, "unknown rule id %q (see validate.Rules)", id))
			continue
		}
		if s := c.Severities[id]; !s.valid() {
			errs = append(errs, field.Errorf(path, "must be error, warning, info or ignore, got %q", string(s)))
		}
	}
	return errors.Join(errs...)
}

// Finding is one problem Validate found. It holds positions and rule
// text only, never a value from the message, so it is safe to log and to
// return in an ERR segment.
type Finding struct {
	// Rule is the id of the rule that found it, e.g. "mqe.dose_before_birth".
	Rule string
	// Severity is the rule's configured severity: Error, Warning or Info.
	Severity Severity
	// Location is where the problem is (ERR-2): segment ID, its occurrence
	// in the message, field, repetition and component, 0 where not given.
	Location hl7.Location
	// Code is the HL7 table 0357 error condition: "100" segment sequence
	// error, "101" required field missing, "102" data type error, "103"
	// table value not found, "999" application error.
	Code string
	// AppCode is the CDC table 0533 application error code where one fits:
	// "1" illogical date, "2" invalid date, "4" invalid value, "5" table
	// value not found, "6" required observation missing, "7" required data
	// missing. It is empty when none fits.
	AppCode string
	// Message is plain English naming the field, never its value, e.g.
	// "RXA-3 (Date/Time Start of Administration) is before the patient's
	// birth date (PID-7)".
	Message string
}

// String returns the finding in one line: severity, location, codes, rule
// and message. It holds no message data.
func (f Finding) String() string {
	return fmt.Sprintf("%s %s %s/%s %s: %s", f.Severity, FormatLocation(f.Location), f.Code, f.AppCode, f.Rule, f.Message)
}

// ErrorDetail returns the ERR segment a registry would send for the
// finding: ERR-2 its Location, ERR-3 its HL7 0357 code, ERR-4 'E', 'W' or
// 'I', ERR-5 its CDC 0533 code and ERR-8 its Message. Code texts come from
// the HL7 and CDC tables of package codes.
func (f Finding) ErrorDetail() hl7.ErrorDetail {
	e := hl7.ErrorDetail{
		Location:    f.Location,
		Code:        f.Code,
		AppCode:     f.AppCode,
		UserMessage: f.Message,
	}
	e.CodeText, _ = codes.TableText("HL70357", f.Code)
	if f.AppCode != "" {
		e.AppCodeText, _ = codes.TableText("HL70533", f.AppCode)
	}
	switch f.Severity {
	case Warning:
		e.Severity = 'W'
	case Info:
		e.Severity = 'I'
	default:
		e.Severity = 'E'
	}
	return e
}

// FormatLocation writes l the way ERR-2 shows it, e.g. "RXA^2^5^1^1",
// "PID^1^7" or "RXA^3": trailing zero parts are left out.
func FormatLocation(l hl7.Location) string {
	parts := [...]int{l.Seq, l.Field, l.Rep, l.Component, l.SubComponent}
	n := len(parts)
	for n > 0 && parts[n-1] == 0 {
		n--
	}
	b := []byte(l.Segment)
	for _, p := range parts[:n] {
		b = fmt.Appendf(b, "^%d", p)
	}
	return string(b)
}

// Validator checks VXU and QBP messages against the CDC IG 1.5 profiles and
// the MQE-style rules registries reject on. It is immutable once built and
// safe for concurrent use; build it once with New.
type Validator struct {
	sev [numRules]Severity
	now func() time.Time
	t   *tables
}

// New builds a Validator. It returns cfg.Validate's error when cfg names
// an unknown rule or severity.
func New(cfg Config) (*Validator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	t, err := loadTables()
	if err != nil {
		return nil, err
	}
	v := &Validator{now: cfg.Now, t: t}
	for i, r := range ruleTable {
		v.sev[i] = r.def
		if s, ok := cfg.Severities[r.id]; ok {
			v.sev[i] = s
		}
	}
	return v, nil
}

// Validate checks m and returns its findings ordered by their position in
// the message (segment, then field, repetition and component; findings at
// the same place keep the order the rules ran in). The profile is chosen
// by MSH-9: VXU^V04 is checked against Z22; QBP^Q11 against Z34 or Z44 as
// MSH-21 (else QPD-1) names, Z44 when neither does. Any other message type
// gives no findings. Validate never modifies m.
func (v *Validator) Validate(m *hl7.Message) []Finding {
	if m == nil {
		return nil
	}
	p := v.t.pick(m)
	if p == nil {
		return nil
	}
	r := newRun(v, p, m)
	r.check()
	out := r.result()
	r.release()
	return out
}

// FindingJSON is a Finding as JSON carries it: snake_case names and the
// location as ERR-2 text. Clients of the API decode findings into it.
type FindingJSON struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Location string   `json:"location"` // e.g. "RXA^2^5^1^1"
	Code     string   `json:"code,omitempty"`
	AppCode  string   `json:"app_code,omitempty"`
	Message  string   `json:"message"`
}

// MarshalJSON writes f as a FindingJSON.
func (f Finding) MarshalJSON() ([]byte, error) {
	return json.Marshal(FindingJSON{f.Rule, f.Severity, FormatLocation(f.Location), f.Code, f.AppCode, f.Message})
}
