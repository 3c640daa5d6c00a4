// Package dict is the dictionary of HL7 v2.5.1 segment and field names for
// the segments the CDC immunization implementation guide (IG 1.5) uses:
// MSH, EVN, PID, PD1, NK1, PV1, PV2, ORC, TQ1, RXA, RXR, OBX, NTE, IN1, SFT,
// QPD, RCP, QAK, MSA and ERR. `iisync inspect` uses it to print each field
// with its HL7 name.
//
// It owns the embedded table fields.tsv (segment, field number, name, base
// data type) and the segment-name table. fields.tsv is produced by gen.go
// (`go generate`) from the NIST IGAMT profiles in
// ../shared/testdata/nist-profiles; see the header of fields.tsv for the
// exact sources. Do not edit fields.tsv by hand.
//
// Field numbers follow HL7 position rules: MSH-1 is the field separator
// itself and MSH-2 the encoding characters. Segment IDs are matched exactly
// (upper case, as on the wire).
//
// dict imports only the standard library; it does no I/O beyond reading its
// embedded data and is safe for concurrent use.
package dict

//go:generate go run gen.go
