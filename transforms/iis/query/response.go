package query

import (
	"fmt"

	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/iis/chart"
)

// Response is what Parse reads from a registry's answer to a query. Every
// string field but Status, Quality, Reason and the Check texts is registry
// data and may be PHI: store it encrypted, show it to authorised users,
// never log it.
type Response struct {
	// Profile is MSH-21.1 as sent, upper-cased: "Z42", "Z32", "Z31", "Z33",
	// or "" when the registry did not send one.
	Profile string `json:"profile,omitempty"`
	// ACKCode is MSA-1 (upper-cased) and ControlID is MSA-2, the MSH-10 of
	// the query.
	ACKCode   string `json:"ack_code,omitempty"`
	ControlID string `json:"control_id,omitempty"`
	// QueryTag is QAK-1, the echoed QPD-2. QAKStatus is QAK-2 upper-cased:
	// OK, NF, TM, AE, AR (and PD, protected data).
	QueryTag  string `json:"query_tag,omitempty"`
	QAKStatus string `json:"qak_status,omitempty"`
	// Status says whether the exchange worked, and Quality what the
	// registry found (see the package documentation).
	Status  MessageStatus `json:"status"`
	Quality Quality       `json:"quality"`
	// Reason is a plain-words summary built from codes and counts only,
	// e.g. "Z42 AA/OK: received, match; 12 doses, 10 forecasts". It is safe
	// to log.
	Reason string `json:"reason"`
	// Checks are the derived observations, in a fixed order.
	Checks []Check `json:"checks,omitempty"`
	// Errors are the registry's ERR segments in message order, each with
	// its Explanation (iis.Explain) filled.
	Errors []iis.ACKError `json:"errors,omitempty"`
	// Patient is the single patient the registry returned: demographics,
	// RegistryID (PID-3 of type SR), doses and indicators. Updated is the
	// time of the answer (MSH-7). Key is the asked chart's key when Parse
	// was given the request, else only its MRN is set (PID-3 of type MR,
	// else PI or PT). It is nil when the registry returned no patient or
	// several.
	Patient *chart.Chart `json:"patient,omitempty"`
	// Candidates are the patients of a Z31 list (or of any answer with
	// several PID segments), in message order.
	Candidates []Candidate `json:"candidates,omitempty"`
	// Forecast are the registry's recommendations for the patient, in
	// message order.
	Forecast []Forecast `json:"forecast,omitempty"`
}

// String returns Reason: printing a Response never shows registry data.
func (r Response) String() string { return r.Reason }

// GoString returns Reason too, so %#v does not dump the patient.
func (r Response) GoString() string { return r.Reason }

// Format writes Reason for every verb.
func (r Response) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.Reason)) }

// NotReceived returns the Response for a query whose answer never arrived:
// the caller's transport failed (timeout, connection refused, SOAP fault).
// reason must not contain PHI. Parse never returns this status.
func NotReceived(reason string) Response {
	if reason == "" {
		reason = "no answer from the registry"
	}
	return Response{Status: StatusNotReceived, Quality: QualityUnknown, Reason: "not received: " + reason}
}

// Candidate is one patient of a candidate list.
type Candidate struct {
	// RegistryID is the registry's ID of the patient (PID-3 of type SR).
	RegistryID string `json:"registry_id,omitempty"`
	// MRN is the EHR's ID as the registry echoes it (PID-3 of type MR, else
	// PI or PT).
	MRN     string             `json:"mrn,omitempty"`
	Patient chart.Demographics `json:"patient"`
}

// String describes the candidate without PHI.
func (c Candidate) String() string { return "candidate" }

// GoString returns String, so %#v does not dump the demographics.
func (c Candidate) GoString() string { return c.String() }

// Format writes String for every verb.
func (c Candidate) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// Check is one derived observation about a response. ID is one of the
// Check* constants. Text says it in plain words and never holds a message
// value, so it is safe to log.
type Check struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// The check IDs.
const (
	// CheckDemographicsDisagree: the returned patient's family name, given
	// name, birth date or sex differs from the query. The text names the
	// fields, not their values.
	CheckDemographicsDisagree = "demographics_disagree"
	// CheckForecastMissing: a forecast was expected (a Z44 query or a Z42
	// answer) and the registry found the patient, but it sent no forecast.
	CheckForecastMissing = "forecast_missing"
	// CheckNoRegistryID: the registry found the patient but sent no ID of
	// its own (PID-3 of type SR), so the chart cannot be linked.
	CheckNoRegistryID = "no_registry_id"
	// CheckProfileSubstituted: the registry answered a Z44 query with a
	// Z32 (history without evaluation). Many registries do; informational.
	CheckProfileSubstituted = "profile_substituted"
	// CheckControlIDMismatch: MSA-2 is not the control ID of the query, so
	// the answer may belong to another query.
	CheckControlIDMismatch = "control_id_mismatch"
)

// MessageStatus says whether the exchange with the registry worked. Its
// values are stable strings, safe to store and to log.
type MessageStatus string

const (
	// StatusReceived: MSA-1 AA (or CA) and no ERR segment.
	StatusReceived MessageStatus = "received"
	// StatusReceivedWithWarnings: the registry answered but reported
	// problems. This covers AA with ERR segments of any severity, AE whose
	// ERRs are all W, I or N, a warning phrase (iis.Rules), and AE without
	// any ERR but with MSA-6 "0" (message accepted).
	StatusReceivedWithWarnings MessageStatus = "received_with_warnings"
	// StatusReceivedWithErrors: the registry reported errors. This covers
	// AR, AE with an E (or unknown) severity ERR, AE with no ERR, and a
	// reject phrase.
	StatusReceivedWithErrors MessageStatus = "received_with_errors"
	// StatusNotReceived: no answer came back (set by the caller with
	// NotReceived; Parse never sets it).
	StatusNotReceived MessageStatus = "not_received"
	// StatusUnreadable: the answer is not HL7, not an RSP (or ACK), or has
	// no usable MSA.
	StatusUnreadable MessageStatus = "unreadable"
)

// Words says the status in plain words for the user.
func (s MessageStatus) Words() string {
	switch s {
	case StatusReceived:
		return "The registry received the query and answered it."
	case StatusReceivedWithWarnings:
		return "The registry answered the query, with warnings."
	case StatusReceivedWithErrors:
		return "The registry reported errors in the query."
	case StatusNotReceived:
		return "No answer came back from the registry."
	case StatusUnreadable:
		return "The registry's answer could not be read."
	}
	return "The status of the query is not known."
}

// Quality says what the registry found (QAK-2 and the PID segments). Its
// values are stable strings, safe to store and to log.
type Quality string

const (
	// QualityMatch: one patient came back (QAK-2 OK, or a PID whatever
	// QAK-2 says).
	QualityMatch Quality = "match"
	// QualityNoMatch: the registry has no such patient (QAK-2 NF).
	QualityNoMatch Quality = "no_match"
	// QualityTooMany: too many patients match (QAK-2 TM).
	QualityTooMany Quality = "too_many"
	// QualityCandidates: a list of possible patients came back (Z31, or
	// several PID segments).
	QualityCandidates Quality = "candidates"
	// QualityRejected: the registry would not run the query (QAK-2 AE, AR
	// or PD, or an AE/AR acknowledgement without QAK) and sent no patient.
	QualityRejected Quality = "rejected"
	// QualityUnknown: the answer does not say.
	QualityUnknown Quality = "unknown"
)

// Words says the quality in plain words for the user.
func (q Quality) Words() string {
	switch q {
	case QualityMatch:
		return "The registry found the patient and sent the record."
	case QualityNoMatch:
		return "The registry found no patient matching the query."
	case QualityTooMany:
		return "Too many patients in the registry match the query; add details to narrow it."
	case QualityCandidates:
		return "The registry sent several possible patients; choose the right one."
	case QualityRejected:
		return "The registry did not run the query."
	}
	return "The registry's answer does not say whether it found the patient."
}

// Forecast is one recommendation of the registry's forecast: a Z42 OBX-4
// group under an RXA with CVX 998. Dates are "YYYYMMDD", "" when not sent.
type Forecast struct {
	// Group is the CDC vaccine group (as in codes: "DTAP", "HepB", "POLIO",
	// "MMR", "VARICELLA", "FLU", "HIB", "PneumoPCV", "HepA", "ROTAVIRUS",
	// "HPV", "MENING", ...) of CVX, else VaccineText.
	Group string `json:"group"`
	// CVX and VaccineText are OBX-5.1 and OBX-5.2 of 30956-7 (vaccine
	// type) or, from registries that use it instead, 30979-9 (vaccines due
	// next).
	CVX         string `json:"cvx,omitempty"`
	VaccineText string `json:"vaccine_text,omitempty"`
	// Status is the normalised status. StatusText is 59783-1 as sent: its
	// text, or its code when it has none.
	Status     ForecastStatus `json:"status"`
	StatusText string         `json:"status_text,omitempty"`
	// DoseNumber is 30973-2, the number of the next dose.
	DoseNumber string `json:"dose_number,omitempty"`
	// Earliest (30981-5), Due (30980-7), Latest (59777-3) and Overdue
	// (59778-1) dates.
	Earliest string `json:"earliest,omitempty"`
	Due      string `json:"due,omitempty"`
	Latest   string `json:"latest,omitempty"`
	Overdue  string `json:"overdue,omitempty"`
	// Schedule is 59779-9 (the schedule used, e.g. "VXC16" for ACIP), code
	// as sent.
	Schedule string `json:"schedule,omitempty"`
	// Reason is 30982-3 (reason applied by the forecast logic) as sent.
	Reason string `json:"reason,omitempty"`
}

// ForecastStatus is the normalised status of one forecast row, after the
// HL7 ImmDS forecast status set. Its values are stable strings.
type ForecastStatus string

const (
	// ForecastComplete: the series is complete.
	ForecastComplete ForecastStatus = "complete"
	// ForecastNotComplete: more doses are needed, but none is due yet (on
	// schedule, up to date, in progress).
	ForecastNotComplete ForecastStatus = "not_complete"
	// ForecastOverdue: the next dose is overdue (past due).
	ForecastOverdue ForecastStatus = "overdue"
	// ForecastDue: the next dose is due now.
	ForecastDue ForecastStatus = "due"
	// ForecastImmune: the patient is immune; no dose needed.
	ForecastImmune ForecastStatus = "immune"
	// ForecastContraindicated: the vaccine is contraindicated.
	ForecastContraindicated ForecastStatus = "contraindicated"
	// ForecastAgedOut: the patient is too old for the series.
	ForecastAgedOut ForecastStatus = "aged_out"
	// ForecastNotRecommended: the series is not recommended for the
	// patient.
	ForecastNotRecommended ForecastStatus = "not_recommended"
	// ForecastUnknown: the registry's status is not understood and no
	// date says more.
	ForecastUnknown ForecastStatus = "unknown"
)

// Words says the forecast status in plain words.
func (s ForecastStatus) Words() string {
	switch s {
	case ForecastComplete:
		return "Series complete"
	case ForecastNotComplete:
		return "Not complete; not due yet"
	case ForecastOverdue:
		return "Overdue"
	case ForecastDue:
		return "Due now"
	case ForecastImmune:
		return "Immune"
	case ForecastContraindicated:
		return "Contraindicated"
	case ForecastAgedOut:
		return "Too old for this series"
	case ForecastNotRecommended:
		return "Not recommended"
	}
	return "Status unknown"
}

// Format writes "forecast(GROUP STATUS)" for every verb: the dates derive
// from the patient's birth date and history.
func (f Forecast) Format(s fmt.State, _ rune) { _, _ = s.Write([]byte(f.GoString())) }

// GoString is Format's summary.
func (f Forecast) GoString() string { return "forecast(" + f.Group + " " + string(f.Status) + ")" }
