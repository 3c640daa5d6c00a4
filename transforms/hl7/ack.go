package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Location is an HL7 error location (ERR-2, data type ERL): segment ID,
// segment sequence, field, repetition, component and sub-component, all
// 1-based; 0 means "not given".
type Location struct {
	Segment                                  string
	Seq, Field, Rep, Component, SubComponent int
}

// ErrorDetail is one ERR segment of an acknowledgement.
type ErrorDetail struct {
	Location    Location // ERR-2
	Code        string   // ERR-3.1, HL7 table 0357 ("101", "207" …)
	CodeText    string   // ERR-3.2
	Severity    byte     // ERR-4, HL7 table 0516: 'E', 'W' or 'I'; 0 means 'E'
	AppCode     string   // ERR-5.1, CDC table 0533 ("4", "5" …)
	AppCodeText string   // ERR-5.2
	UserMessage string   // ERR-8, plain text (escaped when written); must not hold PHI
}

// ACKOptions tunes BuildACK and BuildNAK. The zero value is usable.
type ACKOptions struct {
	// ControlID is MSH-10 of the acknowledgement. Default: derived from Now
	// (YYYYMMDDHHMMSS plus microseconds, 20 characters).
	ControlID string
	// Now is the time written in MSH-7. Default: time.Now().
	Now time.Time
	// SendingApp and SendingFacility, when set, are written (escaped) in MSH-3
	// and MSH-4 instead of the incoming MSH-5 and MSH-6.
	SendingApp, SendingFacility string
	// Text is MSA-3 (plain text, escaped when written). Default: empty.
	Text string
}

// ackHeader is what an acknowledgement takes from the message it answers;
// string fields are in the wire encoding of d.
type ackHeader struct {
	d                                  Delimiters
	sendApp, sendFac, recvApp, recvFac string
	msgType, trigger, profile          string
	control, proc, version             string
}

// BuildACK builds an original-mode acknowledgement (code "AA", "AE" or "AR")
// to in: MSA-2 is in's MSH-10, sender and receiver are swapped, MSH-9 is
// ACK^<in's trigger>^ACK, MSH-11 and MSH-12 are copied (default P and 2.5.1),
// and MSH-21 is Z23^CDCPHINVS (with MSH-15/16 NE) when in follows a CDC
// immunization profile or is a VXU or QBP. errs become ERR segments. The
// result uses in's delimiters and CR terminators. A nil in gives the same as
// BuildNAK(nil, …) with errs.
func BuildACK(in *Message, code string, errs []ErrorDetail, opt ACKOptions) []byte {
	if in == nil {
		return buildACK(ackHeader{d: Standard}, code, errs, opt)
	}
	msh := in.msh1()
	w := func(n int) string { return string(msh.Field(n).raw) }
	h := ackHeader{
		d:       in.d,
		sendApp: w(3), sendFac: w(4), recvApp: w(5), recvFac: w(6),
		msgType: string(msh.Field(9).Component(1).raw),
		trigger: string(msh.Field(9).Component(2).raw),
		control: w(10), proc: w(11), version: w(12), profile: w(21),
	}
	return buildACK(h, code, errs, opt)
}

// BuildNAK builds an acknowledgement for input that did not parse. It
// salvages from raw what it can of MSH (delimiters, MSH-3..6, MSH-9, MSH-10,
// MSH-11, MSH-12, MSH-21); when the delimiters are unusable it falls back to
// Standard and an empty MSA-2. A non-nil cause becomes one ERR segment (see
// ErrorFromParse); its Error text is written in ERR-8, so it must not contain
// PHI (this package's errors never do). An empty code means "AE".
func BuildNAK(raw []byte, cause error, code string, opt ACKOptions) []byte {
	if code == "" {
		code = "AE"
	}
	var errs []ErrorDetail
	if cause != nil {
		errs = []ErrorDetail{ErrorFromParse(cause)}
	}
	return buildACK(salvage(raw), code, errs, opt)
}

// salvage reads what it can of the MSH line of raw, which did not parse.
// SalvageHeader reads MSH-10 and MSH-4.1, in wire form, from bytes that
// may not parse as a whole, so a rejected message can still be recorded
// where a search by control ID finds it. Both are empty when there is no
// usable MSH line. Neither is PHI.
func SalvageHeader(raw []byte) (controlID, sender string) {
	h := salvage(raw)
	sender, _, _ = strings.Cut(h.sendFac, string(h.d.Component))
	return h.control, sender
}

func salvage(raw []byte) ackHeader {
	h := ackHeader{d: Standard}
	s := lineScanner{b: raw}
	for {
		start, end, _, ok := s.next()
		if !ok {
			return h
		}
		line := bytes.TrimLeft(raw[start:end], " \t\x0b")
		if isBlank(line) || isBatchLine(line) {
			continue
		}
		if i := framingIndex(line); i >= 0 {
			line = line[:i]
		}
		if len(line) < 3 || string(line[:3]) != "MSH" {
			return h
		}
		d, bad := delimitersOf(line)
		if bad != 0 {
			return h
		}
		msh := Segment{raw: line, d: d}
		w := func(n int) string { return string(msh.Field(n).raw) }
		return ackHeader{
			d:       d,
			sendApp: w(3), sendFac: w(4), recvApp: w(5), recvFac: w(6),
			msgType: string(msh.Field(9).Component(1).raw),
			trigger: string(msh.Field(9).Component(2).raw),
			control: w(10), proc: w(11), version: w(12), profile: w(21),
		}
	}
}

// cdcProfile reports whether the answered message follows a CDC immunization
// profile: MSH-21 names one (…^CDCPHINVS) or the type is VXU or QBP.
func (h ackHeader) cdcProfile() bool {
	if h.msgType == "VXU" || h.msgType == "QBP" {
		return true
	}
	f := Field{raw: []byte(h.profile), d: h.d, lvl: lvlField, ok: true}
	for r := range f.Repetitions() {
		if string(r.Component(2).raw) == "CDCPHINVS" {
			return true
		}
	}
	return false
}

func buildACK(h ackHeader, code string, errs []ErrorDetail, opt ACKOptions) []byte {
	d := h.d
	if code == "" {
		code = "AA"
		if len(errs) > 0 {
			code = "AE"
		}
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	control := Escape(opt.ControlID, d)
	if opt.ControlID == "" {
		control = now.Format("20060102150405") + fmt.Sprintf("%06d", now.Nanosecond()/1000)
	}
	sendApp, sendFac := h.recvApp, h.recvFac
	if opt.SendingApp != "" {
		sendApp = Escape(opt.SendingApp, d)
	}
	if opt.SendingFacility != "" {
		sendFac = Escape(opt.SendingFacility, d)
	}
	proc, version := h.proc, h.version
	if proc == "" {
		proc = "P"
	}
	if version == "" {
		version = "2.5.1"
	}
	c := string(d.Component)
	msh := make([]string, 22) // index = MSH field number
	msh[3], msh[4], msh[5], msh[6] = sendApp, sendFac, h.sendApp, h.sendFac
	msh[7] = now.Format("20060102150405-0700")
	msh[9] = "ACK" + c + h.trigger + c + "ACK"
	msh[10], msh[11], msh[12] = control, proc, version
	if h.cdcProfile() {
		msh[15], msh[16], msh[21] = "NE", "NE", "Z23"+c+"CDCPHINVS"
	}

	var b bytes.Buffer
	b.Grow(256 + 128*len(errs))
	b.WriteString("MSH")
	b.WriteByte(d.Field)
	b.WriteString(d.encodingChars())
	writeFields(&b, d, msh[3:])
	b.WriteString("MSA")
	writeFields(&b, d, []string{Escape(code, d), h.control, Escape(opt.Text, d)})
	for _, e := range errs {
		b.WriteString("ERR")
		writeFields(&b, d, errFields(e, d))
	}
	return b.Bytes()
}

// writeFields writes fields (each already encoded), dropping trailing empty
// ones, then a CR.
func writeFields(b *bytes.Buffer, d Delimiters, fields []string) {
	n := len(fields)
	for n > 0 && fields[n-1] == "" {
		n--
	}
	for _, f := range fields[:n] {
		b.WriteByte(d.Field)
		b.WriteString(f)
	}
	b.WriteByte('\r')
}

// errFields returns ERR-1 to ERR-8 for e, encoded.
func errFields(e ErrorDetail, d Delimiters) []string {
	sev := e.Severity
	if sev == 0 || !isAlnum(sev) {
		sev = 'E'
	}
	return []string{
		"",
		e.Location.encode(d),
		triplet(d, e.Code, e.CodeText, "HL70357"),
		string(sev),
		triplet(d, e.AppCode, e.AppCodeText, "HL70533"),
		"", "",
		Escape(e.UserMessage, d),
	}
}

// triplet encodes a CWE code^text^system, or "" when code and text are empty.
func triplet(d Delimiters, code, text, system string) string {
	if code == "" && text == "" {
		return ""
	}
	c := string(d.Component)
	return Escape(code, d) + c + Escape(text, d) + c + system
}

// encode renders l as an ERL (segment^seq^field^rep^component^sub-component),
// trailing empty components dropped.
func (l Location) encode(d Delimiters) string {
	parts := []string{Escape(l.Segment, d), num(l.Seq), num(l.Field), num(l.Rep), num(l.Component), num(l.SubComponent)}
	n := len(parts)
	for n > 0 && parts[n-1] == "" {
		n--
	}
	return strings.Join(parts[:n], string(d.Component))
}

func num(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// ErrorFromParse maps an error to the ERR segment that reports it. For a
// *ParseError the location comes from its position and the HL7 table 0357
// code from its sentinel: 100 (segment sequence error) for ErrEmpty, ErrNoMSH
// and ErrBadSegmentID, 102 (data type error) for ErrBadDelimiters and
// ErrFramingByte, 101 (required field missing) for ErrRequired. Anything else
// (a frame too large, an internal failure) is 207 (application internal
// error). Severity is E and the user message is err.Error(). A nil err gives
// the zero ErrorDetail.
func ErrorFromParse(err error) ErrorDetail {
	if err == nil {
		return ErrorDetail{}
	}
	e := ErrorDetail{Severity: 'E', UserMessage: err.Error()}
	if pe, ok := errors.AsType[*ParseError](err); ok {
		e.Location = Location{Segment: pe.Segment, Seq: pe.Seq, Field: pe.Field}
	}
	switch {
	case errors.Is(err, ErrEmpty), errors.Is(err, ErrNoMSH), errors.Is(err, ErrBadSegmentID):
		e.Code, e.CodeText = "100", "Segment sequence error"
	case errors.Is(err, ErrBadDelimiters), errors.Is(err, ErrFramingByte):
		e.Code, e.CodeText = "102", "Data type error"
	case errors.Is(err, ErrRequired):
		e.Code, e.CodeText = "101", "Required field missing"
	default:
		e.Code, e.CodeText = "207", "Application internal error"
	}
	return e
}

// CheckACK parses an acknowledgement and returns MSA-1 of its first MSA. It
// returns the *ParseError when ack does not parse, ErrNotACK when it has no
// MSA, and the code with ErrControlIDMismatch when MSA-2 differs from
// controlID (some registries omit MSA-2; the caller decides). No error text
// contains either control ID.
func CheckACK(ack []byte, controlID string) (code string, err error) {
	m, err := Parse(ack)
	if err != nil {
		return "", err
	}
	msa, ok := m.Segment("MSA", 1)
	if !ok {
		return "", ErrNotACK
	}
	code = msa.Field(1).String()
	if msa.Field(2).String() != controlID {
		return code, ErrControlIDMismatch
	}
	return code, nil
}
