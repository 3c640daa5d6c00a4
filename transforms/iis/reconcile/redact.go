package reconcile

import "fmt"

// Rows carry both sides' doses and demographics: PHI. Every print verb
// writes a summary of states and field names only (STYLE §7).

// Format writes "row(STATE)" for every verb.
func (r Row) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.GoString())) }

// GoString is Format's summary.
func (r Row) GoString() string { return "row(" + string(r.State) + ")" }

// Format writes "difference(FIELD)" for every verb.
func (d Difference) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(d.GoString())) }

// GoString is Format's summary.
func (d Difference) GoString() string { return "difference(" + d.Field + ")" }

// Format writes "field(FIELD)" for every verb.
func (d FieldDiff) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(d.GoString())) }

// GoString is Format's summary.
func (d FieldDiff) GoString() string { return "field(" + d.Field + ")" }

// Format writes "indicator row(STATE)" for every verb.
func (r IndicatorRow) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.GoString())) }

// GoString is Format's summary.
func (r IndicatorRow) GoString() string { return "indicator row(" + string(r.State) + ")" }
