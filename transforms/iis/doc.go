// Package iis holds the CDC Immunization Information System semantics of
// iisync that sit above the HL7 v2 syntax. Today that is ACK classification:
// Classify turns a registry's acknowledgement (ACK, or the MSA of an RSP)
// into a Verdict — accepted, accepted_with_warnings, rejected or unknown —
// with its error details, following the CDC implementation guide and the
// AIRA SMM AckAnalyzer rules (see shared docs/iis-domain.md §5). ClassifyWith
// adds a registry's own reject and warning phrases (Rules, decoded by conf
// from YAML), and Explain puts each error into one plain-English sentence
// from its codes (HL7 table 0357, CDC table 0533) and its location, named
// with the transforms/hl7/dict field names. Code tables, the VXU/QBP/RSP
// models and chart-vs-registry comparison will join it.
//
// It is pure: no I/O, no goroutines, no logging, no mutable shared state.
// It imports only the standard library, transforms/hl7, transforms/hl7/dict
// and conf/field.
//
// # PHI
//
// Registry responses may echo PHI (ERR-8 user messages, MSA-3 texts and even
// ERR-3.2 code texts quote patient values in the wild). Classification keeps
// them in Errors and Text, for storage and authorised display, but builds
// Reason, ErrorCodes, ACKCode and each error's Explanation only from codes,
// positions and this package's own table texts, so those are safe to log
// and to index.
package iis
