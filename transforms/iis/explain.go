package iis

import (
	"strconv"
	"strings"

	"github.com/iisync/iisync/transforms/hl7/dict"
)

// explain0357 says in plain English what each HL7 table 0357 (message error
// condition) code of the CDC IG 1.5 value set HL70357_IZ means. The codes
// and names are those of table0357, from the NIST IZ value set
// (shared testdata/codes/hl70357_message_error_condition.tsv); the wording
// is ours. Each is a clause that reads after "Error in RXA-5 …: ".
var explain0357 = map[string]string{
	"0":   "the message was accepted",
	"100": "segments are missing, repeated or out of order",
	"101": "a required field is empty",
	"102": "a value does not have the format its HL7 data type requires",
	"103": "a coded value is not in the HL7 table the field uses",
	"200": "the registry does not accept this message type",
	"201": "the registry does not accept this trigger event",
	"202": "the registry does not accept this processing ID (production, training or debugging)",
	"203": "the registry does not support this HL7 version",
	"204": "the registry does not know an identifier the message refers to",
	"205": "an identifier duplicates one the registry already has",
	"206": "the registry record was locked by another update (sending again later may work)",
	"207": "the registry had an internal error while processing the message",
	"999": "the registry reported an application error",
}

// explain0533 does the same for CDC table 0533 (application error codes):
// the IG 1.5 value set HL70533_IZ, codes 1 to 6, and codes 7 and 8 as the
// AIRA IIS Sandbox sends them (shared
// testdata/codes/cdc0533_application_error_code.tsv).
var explain0533 = map[string]string{
	"1": "a date is illogical (for example in the future, or before the birth date)",
	"2": "a date is not a valid date",
	"3": "a value contradicts other data in the message",
	"4": "a value is not valid",
	"5": "a code is not in the registry's code table",
	"6": "a required observation (OBX) is missing",
	"7": "required data is missing",
	"8": "the registry ignored this data",
}

// severityWords names the HL7 table 0516 severities (plus N, the AIRA IIS
// Sandbox's notice) as an Explain sentence begins.
var severityWords = map[string]string{
	"E": "Error",
	"W": "Warning",
	"I": "Information",
	"N": "Notice",
	"":  "Problem (no severity given)",
}

// ExplainCode returns the plain-English meaning of code in system, "0357"
// (HL7 message error condition, ERR-3) or "0533" (CDC application error,
// ERR-5); "HL70357", "HL70533" and "CDC0533" are accepted too, in any case.
// The meaning is a lower-case clause, e.g. ExplainCode("0533", "5") is "a
// code is not in the registry's code table". It reports false for another
// system or a code outside the table.
func ExplainCode(system, code string) (string, bool) {
	code = strings.TrimSpace(code)
	var m map[string]string
	switch strings.ToUpper(strings.TrimSpace(system)) {
	case "0357", "HL70357":
		m = explain0357
	case "0533", "HL70533", "CDC0533":
		m = explain0533
	default:
		return "", false
	}
	s, ok := m[code]
	return s, ok
}

// Explain returns one sentence that tells a registry liaison what e means,
// built from its severity (ERR-4), location (ERR-2, in words with the HL7
// field name), HL7 error code (ERR-3, table 0357) and application error
// code (ERR-5, CDC table 0533), e.g.
//
//	Error in RXA-5 (Administered Code) of the 1st RXA: a code is not in the registry's code table.
//
// The 0533 code is the more specific and leads; the 0357 code adds a note
// when it says more ("a value is not valid (HL7: data type error)"). Codes
// outside the tables are named as registry codes when they have the shape
// of one, as in Classification.ErrorCodes ("registry code DQA0051").
//
// It never includes the registry's free text (ERR-8, code texts, MSA-3) or
// a location that does not have the shape of one, so the sentence is safe
// to log.
func Explain(e ACKError) string {
	var b strings.Builder
	sev, ok := severityWords[strings.ToUpper(strings.TrimSpace(e.Severity))]
	if !ok {
		sev = "Problem (unknown severity)"
	}
	b.WriteString(sev)
	if where := describeLocation(e.Location); where != "" {
		b.WriteString(" in ")
		b.WriteString(where)
	}
	b.WriteString(": ")

	code, app := strings.TrimSpace(e.Code), strings.TrimSpace(e.AppCode)
	x357, ok357 := explain0357[code]
	x533, ok533 := explain0533[app]
	var local []string
	if !ok357 && digits(code, 4) { // as in ErrorCodes, anything else in ERR-3.1 is free text
		local = append(local, code)
	}
	if app != "" && !ok533 && codeLike(app) && app != code {
		local = append(local, app)
	}
	codes := ""
	switch len(local) {
	case 0:
	case 1:
		codes = "code " + local[0]
	default:
		codes = "codes " + strings.Join(local, ", ")
	}
	var notes []string
	switch {
	case ok533:
		b.WriteString(x533)
		if ok357 && !sameMeaning(code, app) {
			notes = append(notes, "HL7: "+strings.ToLower(table0357[code]))
		}
	case ok357:
		b.WriteString(x357)
	case codes != "":
		b.WriteString("the registry reported its own " + codes)
		codes = ""
	default:
		b.WriteString("the registry gave no coded reason")
	}
	if codes != "" {
		notes = append(notes, "registry "+codes)
	}
	if len(notes) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(notes, "; "))
		b.WriteString(")")
	}
	b.WriteString(".")
	return b.String()
}

// sameMeaning reports whether the 0357 code c357 adds nothing to the 0533
// code c533: 999 (application error: see ERR-5) and 0 never do, 101
// (required field missing) repeats 6 and 7, 103 (table value not found)
// repeats 5.
func sameMeaning(c357, c533 string) bool {
	switch c357 {
	case "0", "999":
		return true
	case "101":
		return c533 == "6" || c533 == "7"
	case "103":
		return c533 == "5"
	}
	return false
}

// erl is an error location: segment ID, then 1-based numbers, 0 when absent.
type erl struct {
	seg                        string
	seq, field, comp, sub, rep int
}

// parseLocation reads an ERR-2 ERL (segment^sequence^field^repetition^
// component^subcomponent) or an ERR-1 location (segment^sequence^field).
// It is lenient with what registries send: a field written "11.4" (field
// and component), and an MSH location without the sequence ("MSH^12^1^1",
// an MSH can only be the 1st). It reports false when loc does not have the
// shape of a location (see safeLocation).
func parseLocation(loc string) (erl, bool) {
	if safeLocation(loc) == "" {
		return erl{}, false
	}
	parts := strings.Split(loc, "^")
	num := func(i int) int {
		if i >= len(parts) {
			return 0
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	l := erl{seg: parts[0], seq: num(1), rep: num(3), comp: num(4), sub: num(5)}
	fieldPart := ""
	if len(parts) > 2 {
		fieldPart = parts[2]
	}
	if l.seg == "MSH" && l.seq > 1 { // no sequence: segment^field^repetition^component^subcomponent
		fieldPart = parts[1]
		l.seq, l.rep, l.comp, l.sub = 1, num(2), num(3), num(4)
	}
	f, c, _ := strings.Cut(fieldPart, ".")
	if n, err := strconv.Atoi(f); err == nil && n > 0 {
		l.field = n
	}
	if n, err := strconv.Atoi(c); err == nil && n > 0 {
		l.comp = n
	}
	return l, true
}

// describeLocation puts an error location into words with the HL7 names of
// the dictionary: "RXA-5 (Administered Code) of the 1st RXA", "the 2nd OBX
// segment (Observation/Result)". It returns "" for an empty location or one
// that does not have the shape of a location.
func describeLocation(loc string) string {
	l, ok := parseLocation(loc)
	if !ok {
		return ""
	}
	if l.field <= 0 {
		s := "the " + l.seg + " segment"
		if l.seq > 0 && l.seg != "MSH" {
			s = "the " + ordinal(l.seq) + " " + l.seg + " segment"
		}
		if name := dict.SegmentName(l.seg); name != "" {
			s += " (" + name + ")"
		}
		return s
	}
	label := l.seg + "-" + strconv.Itoa(l.field)
	var details []string
	if name := dict.FieldName(l.seg, l.field); name != "" {
		details = append(details, name)
	}
	if l.rep > 1 {
		details = append(details, ordinal(l.rep)+" repetition")
	}
	switch {
	case l.sub > 1:
		label += "." + strconv.Itoa(max(l.comp, 1)) + "." + strconv.Itoa(l.sub)
		details = append(details, "component "+strconv.Itoa(max(l.comp, 1))+", subcomponent "+strconv.Itoa(l.sub))
	case l.comp > 1:
		label += "." + strconv.Itoa(l.comp)
		details = append(details, "component "+strconv.Itoa(l.comp))
	}
	s := label
	if len(details) > 0 {
		s += " (" + strings.Join(details, ", ") + ")"
	}
	if l.seq > 0 && l.seg != "MSH" {
		s += " of the " + ordinal(l.seq) + " " + l.seg
	}
	return s
}

// ordinal writes n as "1st", "2nd", "3rd", "4th", "11th", "21st".
func ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		suffix = "st"
	case 2:
		suffix = "nd"
	case 3:
		suffix = "rd"
	}
	if n%100 >= 11 && n%100 <= 13 {
		suffix = "th"
	}
	return strconv.Itoa(n) + suffix
}
