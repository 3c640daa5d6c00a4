package registry

import "fmt"

// Patients, views, sessions, audit entries and results hold PHI. Every
// print verb writes a summary of counts, states and actions only (STYLE
// §7); the values are for the API's JSON and the store.

// Format writes "patient" for every verb.
func (Patient) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("patient")) }

// GoString is "patient".
func (Patient) GoString() string { return "patient" }

// Format writes "view(CHANNEL PATIENT_REF: N rows)" for every verb.
func (v View) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.GoString())) }

// GoString is Format's summary.
func (v View) GoString() string {
	return fmt.Sprintf("view(%s %s: %d rows)", v.Channel, v.PatientRef, len(v.Immunizations))
}

// Format writes "row(N STATE)" for every verb.
func (r Row) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.GoString())) }

// GoString is Format's summary.
func (r Row) GoString() string { return fmt.Sprintf("row(%d %s)", r.N, r.State) }

// Format writes "session(PROFILE STATUS)" for every verb.
func (s Session) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.GoString())) }

// GoString is Format's summary.
func (s Session) GoString() string {
	return fmt.Sprintf("session(%s %s)", s.Profile, s.Answer.Status)
}

// Format writes "audit(ACTION by WHO)" for every verb.
func (a Audit) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.GoString())) }

// GoString is Format's summary.
func (a Audit) GoString() string { return fmt.Sprintf("audit(%s by %s)", a.Action, a.Who) }

// Format writes "message(DIRECTION)" for every verb.
func (m AuditMessage) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.GoString())) }

// GoString is Format's summary.
func (m AuditMessage) GoString() string { return "message(" + m.Direction + ")" }

// Format writes "result(ACTION: N rows)" for every verb.
func (r Result) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.GoString())) }

// GoString is Format's summary.
func (r Result) GoString() string { return fmt.Sprintf("result(%s: %d rows)", r.Action, len(r.Rows)) }
