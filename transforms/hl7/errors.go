package hl7

import (
	"errors"
	"strconv"
)

// Sentinel errors. Compare them with errors.Is; none of them ever carries a
// field value.
var (
	// ErrEmpty means the input holds no bytes other than whitespace.
	ErrEmpty = errors.New("hl7: empty message")
	// ErrNoMSH means the first segment (after whitespace and batch headers) is not MSH.
	ErrNoMSH = errors.New("hl7: message does not start with MSH")
	// ErrBadDelimiters means MSH-1 or MSH-2 does not declare a usable set of delimiters.
	ErrBadDelimiters = errors.New("hl7: invalid delimiters in MSH-1/MSH-2")
	// ErrFramingByte means an MLLP framing byte (0x0B or 0x1C) is inside the message.
	ErrFramingByte = errors.New("hl7: MLLP framing byte inside message")
	// ErrBadSegmentID means a segment does not start with three upper-case letters or digits.
	ErrBadSegmentID = errors.New("hl7: invalid segment id")
	// ErrTooLarge means the input is larger than 2 GiB, which the segment index cannot address.
	ErrTooLarge = errors.New("hl7: message too large")
	// ErrBadPath means a path expression such as "PID-3[2].1" is malformed.
	ErrBadPath = errors.New("hl7: malformed path")
	// ErrNotFound means an edit addressed a segment that the message does not have.
	ErrNotFound = errors.New("hl7: segment not found")
	// ErrReadOnly means an edit addressed MSH-1, MSH-2 or the MSH segment itself,
	// which define the message's delimiters and cannot be changed in place.
	ErrReadOnly = errors.New("hl7: element cannot be edited")
	// ErrBadValue means a value given to SetRaw or a segment given to
	// InsertSegment contains a segment terminator, a framing byte or a
	// delimiter of its own level or above.
	ErrBadValue = errors.New("hl7: value would break the message structure")
	// ErrRequired means a required field is empty. Parse never returns it;
	// validators use it, and BuildNAK maps it to HL7 table 0357 code 101.
	ErrRequired = errors.New("hl7: required field empty")
	// ErrControlIDMismatch means MSA-2 of an ACK does not match the expected control ID.
	ErrControlIDMismatch = errors.New("hl7: ACK control id does not match")
	// ErrNotACK means the message has no MSA segment.
	ErrNotACK = errors.New("hl7: not an acknowledgement (no MSA)")
)

// ParseError locates a parse failure by position only, so it is safe to log
// and to echo in an ERR segment. Segment is "" when the failing segment has no
// valid name (or none was reached); then Seq, when not 0, is the 1-based
// position of the segment in the message instead of its occurrence.
type ParseError struct {
	Segment string // "PID", or "" when unknown
	Seq     int    // 1-based occurrence of Segment
	Field   int    // 1-based HL7 field number; 0 = whole segment
	Err     error  // an Err* sentinel
}

// Error returns the position and the sentinel text, for example
// "PID[1]-7: hl7: MLLP framing byte inside message".
func (e *ParseError) Error() string {
	switch {
	case e.Segment != "":
		return e.Segment + "[" + strconv.Itoa(e.Seq) + "]-" + strconv.Itoa(e.Field) + ": " + errText(e.Err)
	case e.Seq > 0:
		return "segment " + strconv.Itoa(e.Seq) + ": " + errText(e.Err)
	default:
		return errText(e.Err)
	}
}

// Unwrap returns the sentinel.
func (e *ParseError) Unwrap() error { return e.Err }

// PathError reports a malformed path expression or an edit that cannot be
// applied at a path. Path is the expression written by the programmer, never
// message data, so it is safe to print.
type PathError struct {
	Path string
	Err  error
}

// Error returns the quoted path and the sentinel text.
func (e *PathError) Error() string {
	p := e.Path
	if len(p) > 64 {
		p = p[:64] + "…"
	}
	return "path " + strconv.Quote(p) + ": " + errText(e.Err)
}

// Unwrap returns the sentinel.
func (e *PathError) Unwrap() error { return e.Err }

func errText(err error) string {
	if err == nil {
		return "hl7: unknown error"
	}
	return err.Error()
}
