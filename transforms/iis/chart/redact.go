package chart

import (
	"fmt"
	"strconv"
)

// The model's values are PHI (STYLE §7: redaction is built into the
// types), so every print verb writes a summary of counts and codes only;
// the values are reachable through the fields, for storage and display to
// authorised users, never for logs or errors.

// Format writes "chart(N doses, M indicators)" for every verb.
func (c Chart) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "chart(%d doses, %d indicators)", len(c.Doses), len(c.Indicators))
}

// GoString is Format's summary, so %#v does not dump the record either.
func (c Chart) GoString() string { return fmt.Sprint(c) }

// Format writes "patient" for every verb: a key is an MRN.
func (Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("patient")) }

// GoString is "patient".
func (Key) GoString() string { return "patient" }

// Format writes "demographics" for every verb.
func (Demographics) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("demographics")) }

// GoString is "demographics".
func (Demographics) GoString() string { return "demographics" }

// Format writes "dose(CVX)" for every verb: the vaccine code, not the date,
// lot or facility.
func (d Dose) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(d.GoString())) }

// GoString is Format's summary.
func (d Dose) GoString() string { return "dose(" + strconv.Quote(d.CVX) + ")" }

// Format writes "indicator(KIND)" for every verb.
func (in Indicator) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(in.GoString())) }

// GoString is Format's summary.
func (in Indicator) GoString() string { return "indicator(" + string(in.Kind) + ")" }
