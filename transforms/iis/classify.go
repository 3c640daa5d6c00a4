package iis

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7"
)

// Verdict is what a registry's acknowledgement means for the message it
// answers. Its values are the delivery statuses channels/store records.
type Verdict string

// The verdicts, from best to worst.
const (
	// Accepted means the registry took the message: MSA-1 AA (or CA) with no
	// warning or error, or with informational ERRs only.
	Accepted Verdict = "accepted"
	// AcceptedWithWarnings means the registry took the message but reported
	// problems: AA with a W or E severity ERR, AE whose ERRs carry only
	// W, I or N severities, or a warning phrase (see Rules) in MSA-3 or
	// ERR-8. Some data may not have been saved.
	AcceptedWithWarnings Verdict = "accepted_with_warnings"
	// Unknown means the response could not be interpreted: not HL7, not an
	// ACK or RSP, no MSA, or an MSA-1 that is not an acknowledgement code.
	Unknown Verdict = "unknown"
	// Rejected means the registry did not take the message: AR or CR, AE (or
	// CE) with an E severity ERR or with no severity at all, or a reject
	// phrase in MSA-3 or ERR-8.
	Rejected Verdict = "rejected"
)

// rank orders verdicts for "use the worst" across several MSA segments.
func (v Verdict) rank() int {
	switch v {
	case Accepted:
		return 0
	case AcceptedWithWarnings:
		return 1
	case Unknown:
		return 2
	}
	return 3
}

// ACKError is one error reported by the registry: an ERR segment, or one
// repetition of a pre-v2.5 ERR-1. Every field but Explanation is registry
// text as sent (escape-decoded) and may echo PHI: store it and show it to
// authorised users, but never log it.
type ACKError struct {
	Location    string `json:"location,omitempty"`      // ERR-2 (ERL), e.g. "RXA^1^5^1^1"; or ERR-1.1-3
	Code        string `json:"code,omitempty"`          // ERR-3.1, HL7 table 0357, e.g. "999"; or ERR-1.4.1
	CodeText    string `json:"code_text,omitempty"`     // ERR-3.2; or ERR-1.4.2
	Severity    string `json:"severity,omitempty"`      // ERR-4 (HL7 table 0516), upper-cased: "E", "W", "I", "N" or ""
	AppCode     string `json:"app_code,omitempty"`      // ERR-5.1, CDC table 0533, e.g. "5"; ERR-5.4 when ERR-5.1 is empty
	AppCodeText string `json:"app_code_text,omitempty"` // ERR-5.2; ERR-5.5 when ERR-5.1 is empty
	Message     string `json:"message,omitempty"`       // ERR-8 user message; MSA-3 when ERR-8 is empty and the MSA has only this ERR
	// Explanation is Explain of the fields above, filled by Classify: one
	// plain-English sentence built from codes and the location only, so
	// unlike the other fields it is safe to log.
	Explanation string `json:"explanation,omitempty"`
}

// Classification is the interpretation of one acknowledgement.
type Classification struct {
	// Verdict is the outcome; Unknown when the input cannot be interpreted.
	Verdict Verdict `json:"verdict"`
	// ACKCode is MSA-1 of the deciding MSA ("AA", "AE", "AR", "CA", "CE",
	// "CR"), or "" when there is none or it is not a code.
	ACKCode string `json:"ack_code,omitempty"`
	// ControlID is MSA-2 of the deciding MSA: the MSH-10 of the message the
	// registry answers ("" when the registry omits it).
	ControlID string `json:"control_id,omitempty"`
	// ErrorCodes are the coded errors, unique and sorted, safe to index:
	// "0357:101" (ERR-3), "0533:5" (ERR-5), "local:DQA0051" (a local code
	// in ERR-5.4 when ERR-5.1 is empty, or an ERR-1/ERR-5 code of another
	// coding system). Codes that do not look like codes are left out.
	ErrorCodes []string `json:"error_codes,omitempty"`
	// Errors are the registry's errors in message order. They may echo PHI.
	Errors []ACKError `json:"errors,omitempty"`
	// Text is MSA-3 of the deciding MSA: registry text that may echo PHI.
	Text string `json:"text,omitempty"`
	// Reason is a plain-words summary built from codes, positions and this
	// package's table texts only, never from registry free text, so it is
	// safe to log, e.g. "rejected: AE, 1 error (RXA^1^5^1^1 Table value not
	// found)".
	Reason string `json:"reason"`
}

// Classify interprets an acknowledgement (ACK, or an RSP by its MSA). It
// never fails: input that cannot be interpreted yields Unknown with the
// cause in Reason. It tolerates MLLP framing left around the message,
// LF or CRLF terminators, leading whitespace and FHS/BHS batch wrappers.
//
// The rules (CDC IG 1.5, AIRA SMM AckAnalyzer):
//   - not HL7, no MSH, MSH-9.1 neither ACK nor RSP, or no MSA: Unknown;
//   - AA/CA: Accepted, or AcceptedWithWarnings if an ERR has severity W or E;
//   - AR/CR: Rejected;
//   - AE/CE: Rejected if an ERR has severity E (or an unknown severity),
//     AcceptedWithWarnings if the ERRs carry only W, I or N, and Rejected
//     when no ERR carries a severity at all;
//   - any other MSA-1: Unknown;
//   - a reject phrase of DefaultRules ("rejected", "not accepted", …, as
//     whole words, any case) in MSA-3 or ERR-8: Rejected;
//   - a warning phrase of DefaultRules ("accepted with warnings", …) in
//     MSA-3 or ERR-8: Accepted, and AE Rejected only for want of a
//     severity, become AcceptedWithWarnings;
//   - several MSA segments (each owning the ERRs after it): the worst wins.
//
// ERR-2/ERR-3 are read as in v2.5; when both are empty, the v2.3 ERR-1
// (segment^sequence^field^code&text&system, repeating) is read instead.
// Each error's Explanation is filled with Explain.
//
// Classify(ack) is ClassifyWith(ack, DefaultRules()).
func Classify(ack []byte) Classification {
	return ClassifyWith(ack, Rules{}) // the zero Rules are the defaults
}

// ClassifyWith is Classify with a registry's own phrase rules in place of
// DefaultRules; a nil list in r keeps its default (see Rules). Invalid
// phrases (see Rules.Validate) never match.
func ClassifyWith(ack []byte, r Rules) Classification {
	r = r.resolved()
	m, err := hl7.Parse(unframe(ack))
	if err != nil {
		return Classification{Verdict: Unknown, Reason: "unknown: not an HL7 message (" + err.Error() + ")"}
	}
	switch typ := strings.ToUpper(strings.TrimSpace(m.Value("MSH-9.1"))); typ {
	case "ACK", "RSP":
	default:
		return Classification{Verdict: Unknown, Reason: "unknown: message type is not ACK or RSP"}
	}
	groups := readGroups(m)
	if len(groups) == 0 {
		return Classification{Verdict: Unknown, Reason: "unknown: no MSA segment"}
	}
	c := Classification{}
	worst := -1
	for i := range groups {
		g := &groups[i]
		g.judge(r)
		if worst < 0 || g.verdict.rank() > groups[worst].verdict.rank() {
			worst = i
		}
		for _, e := range g.errs {
			e.Explanation = Explain(e.ACKError)
			c.Errors = append(c.Errors, e.ACKError)
			c.ErrorCodes = append(c.ErrorCodes, e.codes...)
		}
	}
	w := groups[worst]
	c.Verdict, c.ACKCode, c.ControlID, c.Text = w.verdict, w.code, w.controlID, w.text
	slices.Sort(c.ErrorCodes)
	c.ErrorCodes = slices.Compact(c.ErrorCodes)
	if len(c.ErrorCodes) == 0 {
		c.ErrorCodes = nil
	}
	c.Reason = reason(c, groups, worst)
	return c
}

// unframe drops MLLP framing bytes a caller may have left around the message.
func unframe(b []byte) []byte {
	b = bytes.TrimLeft(b, "\x0b \t\r\n")
	if i := bytes.IndexByte(b, 0x1c); i >= 0 {
		b = b[:i]
	}
	return b
}

// group is one MSA and the ERR segments that follow it (up to the next MSA).
type group struct {
	code, controlID, text string
	errs                  []ackErr
	verdict               Verdict
	phrase                string // where a reject phrase was found: "MSA-3", "ERR-8" or ""
	byPhrase              bool   // the phrase alone made the verdict Rejected
	warnPhrase            string // where a warning phrase was found, when it changed the verdict
}

// ackErr is an ACKError with its index codes.
type ackErr struct {
	ACKError
	codes []string
}

// readGroups collects the MSA groups in message order. ERRs before the
// first MSA belong to it.
func readGroups(m *hl7.Message) []group {
	var gs []group
	var early []ackErr
	for seg := range m.Segments() {
		switch seg.Name() {
		case "MSA":
			gs = append(gs, group{
				code:      ackCode(seg.Field(1).Component(1).String()),
				controlID: seg.Field(2).String(),
				text:      seg.Field(3).String(),
			})
			if len(gs) == 1 {
				gs[0].errs, early = early, nil
			}
		case "ERR":
			es := readERR(seg)
			if len(gs) == 0 {
				early = append(early, es...)
			} else {
				gs[len(gs)-1].errs = append(gs[len(gs)-1].errs, es...)
			}
		}
	}
	for i := range gs {
		g := &gs[i]
		if len(g.errs) == 1 && g.errs[0].Message == "" {
			g.errs[0].Message = g.text // NM style: one text per MSA/ERR pair
		}
	}
	return gs
}

// ackCode returns MSA-1 normalised, or "" when it is not an HL7 table 0008
// acknowledgement code.
func ackCode(s string) string {
	switch s = strings.ToUpper(strings.TrimSpace(s)); s {
	case "AA", "AE", "AR", "CA", "CE", "CR":
		return s
	}
	return ""
}

// readERR reads one ERR segment: one ACKError, or one per ERR-1 repetition
// when ERR-2 and ERR-3 are empty (v2.3 style).
func readERR(seg hl7.Segment) []ackErr {
	base := ackErr{ACKError: ACKError{
		Severity: strings.ToUpper(strings.TrimSpace(seg.Field(4).Component(1).String())),
		Message:  seg.Field(8).String(),
	}}
	app := seg.Field(5)
	base.AppCode, base.AppCodeText = app.Component(1).String(), app.Component(2).String()
	switch {
	case base.AppCode != "":
		base.addCode(table(app.Component(3).String(), "0533"), base.AppCode)
	case app.Component(4).String() != "":
		base.AppCode, base.AppCodeText = app.Component(4).String(), app.Component(5).String()
		base.addCode("local", base.AppCode)
	}

	erl, hl7Code := seg.Field(2), seg.Field(3)
	if len(erl.Raw()) > 0 || len(hl7Code.Raw()) > 0 || len(seg.Field(1).Raw()) == 0 {
		e := base
		e.codes = slices.Clone(base.codes)
		e.Location = location(erl.Rep(1), 6)
		e.Code, e.CodeText = hl7Code.Component(1).String(), hl7Code.Component(2).String()
		e.addHL7Code(hl7Code.Component(3).String())
		return []ackErr{e}
	}
	var out []ackErr
	for eld := range seg.Field(1).Repetitions() {
		e := base
		e.codes = slices.Clone(base.codes)
		e.Location = location(eld, 3)
		ce := eld.Component(4)
		e.Code, e.CodeText = ce.Component(1).String(), ce.Component(2).String()
		e.addHL7Code(ce.Component(3).String())
		out = append(out, e)
	}
	return out
}

// addHL7Code indexes e.Code, the error condition of ERR-3 or ERR-1.4 coded
// in sys. Only a number is taken: a field meant for table 0357 holding
// anything else is free text.
func (e *ackErr) addHL7Code(sys string) {
	if code := strings.TrimSpace(e.Code); digits(code, 4) {
		e.addCode(table(sys, "0357"), code)
	}
}

// addCode records "table:code" for the index when code looks like a code.
// Codes of HL7 0357 and CDC 0533 are numbers; anything else is local.
func (e *ackErr) addCode(table, code string) {
	code = strings.TrimSpace(code)
	if !codeLike(code) {
		return
	}
	if table != "local" && !digits(code, 4) {
		table = "local"
	}
	e.codes = append(e.codes, table+":"+code)
}

// digits reports whether s is 1 to max decimal digits.
func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// table names the index table of a code whose coding system is sys: the
// field's own table (want, "0357" or "0533") when sys is empty or names it,
// else "local".
func table(sys, want string) string {
	switch strings.ToUpper(strings.TrimSpace(sys)) {
	case "", "HL7" + want, want, "CDC" + want, "HL7" + want + "_IZ":
		return want
	}
	return "local"
}

// location joins the first n components of an ERL (or ELD) with "^",
// dropping trailing empty ones: "RXA^1^5^1^1".
func location(f hl7.Field, n int) string {
	parts := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		parts = append(parts, f.Component(i).String())
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "^")
}

// Severity classes, from most to least severe, used for verdicts and counts.
const (
	sevError   = iota // E, or a severity this package does not know
	sevUnrated        // no severity given
	sevWarning        // W
	sevInfo           // I, or N (notice, sent by the AIRA IIS Sandbox)
	sevClasses
)

func severityClass(s string) int {
	switch s {
	case "":
		return sevUnrated
	case "W":
		return sevWarning
	case "I", "N":
		return sevInfo
	}
	return sevError
}

// judge sets g.verdict from MSA-1, the ERR severities and r's phrases.
func (g *group) judge(r Rules) {
	var n [sevClasses]int
	for _, e := range g.errs {
		n[severityClass(e.Severity)]++
	}
	switch g.code {
	case "AA", "CA":
		g.verdict = Accepted
		if n[sevError]+n[sevWarning] > 0 {
			g.verdict = AcceptedWithWarnings
		}
	case "AR", "CR":
		g.verdict = Rejected
	case "AE", "CE":
		switch {
		case n[sevError] > 0:
			g.verdict = Rejected
		case n[sevWarning]+n[sevInfo] > 0:
			g.verdict = AcceptedWithWarnings
		default: // no severity anywhere: SMM treats it as not accepted
			g.verdict = Rejected
		}
	default:
		g.verdict = Unknown
	}
	g.phrase = g.findPhrase(r.RejectPhrases)
	if g.phrase != "" {
		if g.verdict != Rejected {
			g.verdict, g.byPhrase = Rejected, true
		}
		return
	}
	unrated := (g.code == "AE" || g.code == "CE") && g.verdict == Rejected && n[sevError] == 0
	if g.verdict == Accepted || unrated {
		if g.warnPhrase = g.findPhrase(r.WarningPhrases); g.warnPhrase != "" {
			g.verdict = AcceptedWithWarnings
		}
	}
}

// findPhrase returns where one of phrases occurs first: "MSA-3", "ERR-8"
// or "".
func (g *group) findPhrase(phrases []string) string {
	if anyPhrase(g.text, phrases) {
		return "MSA-3"
	}
	for _, e := range g.errs {
		if anyPhrase(e.Message, phrases) {
			return "ERR-8"
		}
	}
	return ""
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// codeLike reports whether s looks like a code (1 to 20 letters, digits,
// '.', '-', '_') rather than free text that could quote patient data.
func codeLike(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range []byte(s) {
		if !(isWordByte(c) || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// safeLocation returns loc when it has the shape of an error location
// (segment ID, then short numbers such as "11.4"), else "".
func safeLocation(loc string) string {
	parts := strings.Split(loc, "^")
	if len(parts[0]) != 3 {
		return ""
	}
	for _, c := range []byte(parts[0]) {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return ""
		}
	}
	for _, p := range parts[1:] {
		if len(p) > 5 {
			return ""
		}
		for _, c := range []byte(p) {
			if !(c >= '0' && c <= '9' || c == '.') {
				return ""
			}
		}
	}
	return loc
}

// describe summarises one error for Reason from its position and codes
// only: the CDC 0533 text, else the HL7 0357 text, then any local code.
func describe(e ackErr) string {
	var t533, t357, local string
	for _, code := range e.codes {
		switch t, c, _ := strings.Cut(code, ":"); t {
		case "0533":
			t533 = table0533[c]
		case "0357":
			t357 = table0357[c]
		case "local":
			if local == "" {
				local = "local code " + c
			}
		}
	}
	words := []string{safeLocation(e.Location), cmp.Or(t533, t357)}
	words = slices.DeleteFunc(words, func(s string) bool { return s == "" })
	out := strings.Join(words, " ")
	if local != "" {
		if out != "" {
			out += ", "
		}
		out += local
	}
	return out
}

// reason builds the PHI-free summary.
func reason(c Classification, groups []group, worst int) string {
	var b strings.Builder
	b.WriteString(string(c.Verdict))
	b.WriteString(": ")
	if c.ACKCode != "" {
		b.WriteString(c.ACKCode)
	} else {
		b.WriteString("MSA-1 not an acknowledgement code")
	}
	var n [sevClasses]int
	var first [sevClasses]*ackErr
	for gi := range groups {
		for ei := range groups[gi].errs {
			e := &groups[gi].errs[ei]
			k := severityClass(e.Severity)
			if n[k]++; first[k] == nil {
				first[k] = e
			}
		}
	}
	names := [sevClasses][2]string{{"error", "errors"}, {"without severity", "without severity"}, {"warning", "warnings"}, {"info", "info"}}
	var top *ackErr
	for k := range sevClasses {
		if n[k] == 0 {
			continue
		}
		word := names[k][0]
		if n[k] > 1 {
			word = names[k][1]
		}
		b.WriteString(", " + strconv.Itoa(n[k]) + " " + word)
		if top == nil {
			top = first[k]
		}
	}
	if top != nil {
		if d := describe(*top); d != "" {
			b.WriteString(" (" + d + ")")
		}
	}
	w := groups[worst]
	switch {
	case w.byPhrase:
		b.WriteString("; reject phrase in " + w.phrase)
	case w.warnPhrase != "":
		b.WriteString("; warning phrase in " + w.warnPhrase)
	case (w.code == "AE" || w.code == "CE") && w.verdict == Rejected && n[sevError] == 0:
		b.WriteString("; no ERR severity given")
	}
	if len(groups) > 1 {
		b.WriteString("; " + strconv.Itoa(len(groups)) + " MSA segments, worst used")
	}
	return b.String()
}

// String returns Reason: printing a Classification with %v or %s never
// shows the registry's texts, which may echo PHI.
func (c Classification) String() string { return c.Reason }

// GoString returns Reason too, so %#v does not dump Errors and Text.
func (c Classification) GoString() string { return c.Reason }

// Format writes Reason for every verb.
func (c Classification) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.Reason)) }

// String describes the error by position and codes only, e.g.
// "RXA^1^5^1^1 E 0357:999 0533:5"; the registry's texts are left out.
func (e ACKError) String() string {
	sev := "-"
	switch e.Severity {
	case "E", "W", "I", "N":
		sev = e.Severity
	}
	parts := []string{cmp.Or(safeLocation(e.Location), "-"), sev}
	if digits(e.Code, 4) {
		parts = append(parts, "0357:"+e.Code)
	}
	if digits(e.AppCode, 4) {
		parts = append(parts, "app:"+e.AppCode)
	}
	return strings.Join(parts, " ")
}

// GoString returns String, so %#v does not dump the registry's texts.
func (e ACKError) GoString() string { return e.String() }

// Format writes String for every verb.
func (e ACKError) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.String())) }
