// Package hl7 owns the HL7 v2 message core of iisync: zero-copy parsing,
// path access, escape handling, copy-on-write edits, encoding, and building
// and checking original-mode acknowledgements (ACK/NAK).
//
// It imports only the standard library, zerolog (for MarshalZerologObject)
// and, if needed, conf/field. It must not import net, os or any other project
// package: transforms never learn about sockets or files.
//
// # Parsing
//
// Parse keeps the caller's bytes (no copy) and reads the delimiters from
// MSH-1 and MSH-2; none is assumed. Segment terminators may be CR, LF or
// CRLF, mixed. Leading/trailing whitespace, blank lines and batch lines
// (FHS, BHS, BTS, FTS) are tolerated and kept. MLLP framing bytes inside the
// input are an error (ErrFramingByte). The segment index is built on first
// access, inside the Message for up to 48 segments; escapes are decoded only
// when a value is read. Split cuts a file or batch into messages.
//
// # Access
//
// Paths use HL7 numbering: "PID-5.1", "PID-3[2].1" (repetition 2),
// "RXA[2]-5.1" (second RXA), "RXA-10.9.2" (sub-component), "MSH-9".
// MSH-1 is the field separator, MSH-2 the encoding characters and MSH-3 the
// first field after them. Message.Get returns a leaf escape-decoded and a
// composite in wire form; a missing element is "", false, nil.
//
// The same tree is reachable by value types: Message.Segment gives a
// Segment, Segment.Field(n) a Field, and on a Field, Rep(n) selects a
// repetition while Component(n) descends one level — a field (its first
// repetition) or a repetition gives its component n, a component gives its
// sub-component n:
//
//	seg, _ := m.Segment("RXA", 1)
//	unit := seg.Field(10).Component(9).Component(2).String() // RXA-10.9.2
//
// # Edits
//
// Set, SetRaw, InsertSegment, AppendSegment and DeleteSegment never modify
// the receiver: they return a new Message whose bytes are a copy with the
// change spliced in, so pipeline steps may share messages across goroutines.
// Every untouched byte, terminators included, is kept; Encode of an
// unedited message is exactly its input.
//
// # PHI
//
// Field values are PHI. Errors carry positions (ParseError, PathError), never
// values. Message.String, GoString, Format and MarshalZerologObject expose
// only MSH-9, MSH-10, MSH-4 and the size; Raw is the one way to the wire
// bytes and must never reach a logger or an error. PatientRef gives a keyed,
// truncated HMAC of PID-3.1 for correlating log lines.
//
// # Concurrency
//
// A Message is immutable once parsed and safe for concurrent use; the lazy
// segment index is built under a sync.Once. The package holds no other locks.
package hl7
