package sandbox

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// std is the delimiter set of every RSP this package writes and of the
// wire-form values it stores.
var std = hl7.Standard

// esc encodes plain text as a leaf value under the standard delimiters.
func esc(s string) string { return hl7.Escape(s, std) }

// standardize re-encodes wire bytes written with delimiters d (a field, a
// component or a whole segment other than MSH) for the standard
// delimiters. Escape sequences keep their letters; a standard delimiter that
// is plain data under d is escaped.
func standardize(raw []byte, d hl7.Delimiters) string {
	if d.Field == std.Field && d.Component == std.Component && d.Repetition == std.Repetition &&
		d.Escape == std.Escape && d.SubComponent == std.SubComponent {
		return string(raw)
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == d.Field:
			b.WriteByte(std.Field)
		case c == d.Component:
			b.WriteByte(std.Component)
		case c == d.Repetition:
			b.WriteByte(std.Repetition)
		case d.SubComponent != 0 && c == d.SubComponent:
			b.WriteByte(std.SubComponent)
		case c == d.Escape:
			j := bytes.IndexByte(raw[i+1:], d.Escape)
			if j < 0 {
				b.WriteString(`\E\`)
				continue
			}
			b.WriteByte(std.Escape)
			b.Write(raw[i+1 : i+1+j])
			b.WriteByte(std.Escape)
			i += j + 1
		default:
			switch c {
			case '|':
				b.WriteString(`\F\`)
			case '^':
				b.WriteString(`\S\`)
			case '~':
				b.WriteString(`\R\`)
			case '&':
				b.WriteString(`\T\`)
			case '\\':
				b.WriteString(`\E\`)
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// writer builds an HL7 message with the standard delimiters and CR
// terminators.
type writer struct{ b bytes.Buffer }

// seg writes one segment; fields are already encoded, trailing empty ones
// are dropped.
func (w *writer) seg(name string, fields ...string) {
	n := len(fields)
	for n > 0 && fields[n-1] == "" {
		n--
	}
	w.b.WriteString(name)
	for _, f := range fields[:n] {
		w.b.WriteByte('|')
		w.b.WriteString(f)
	}
	w.b.WriteByte('\r')
}

// err writes an ERR segment for e the way hl7.BuildACK does.
func (w *writer) err(e hl7.ErrorDetail) {
	sev := e.Severity
	if sev == 0 {
		sev = 'E'
	}
	w.seg("ERR", "", location(e.Location), cwe(e.Code, e.CodeText, "HL70357"), string(sev),
		cwe(e.AppCode, e.AppCodeText, "HL70533"), "", "", esc(e.UserMessage))
}

// location encodes an ERL.
func location(l hl7.Location) string {
	parts := []string{esc(l.Segment), num(l.Seq), num(l.Field), num(l.Rep), num(l.Component), num(l.SubComponent)}
	n := len(parts)
	for n > 0 && parts[n-1] == "" {
		n--
	}
	return strings.Join(parts[:n], "^")
}

func num(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// cwe encodes code^text^system from plain code and text, or "" when both
// are empty.
func cwe(code, text, system string) string {
	if code == "" && text == "" {
		return ""
	}
	return esc(code) + "^" + esc(text) + "^" + system
}

// hl7Time formats t the way MSH-7 wants it (IZ-TS_Z: with time zone).
func hl7Time(t time.Time) string { return t.Format("20060102150405-0700") }

// batchWrap wraps a single reply in FHS/BHS … BTS/FTS, copying the
// reply's delimiters, sender, receiver, time and control ID into the
// headers.
func batchWrap(reply []byte) []byte {
	m, err := hl7.Parse(reply)
	if err != nil {
		return reply
	}
	msh, _ := m.Segment("MSH", 1)
	raw := func(n int) string { return string(msh.Field(n).Raw()) }
	f := raw(1)
	head := f + raw(2) // e.g. "|^~\&"
	hdr := func(name, suffix string) string {
		return name + head + f + raw(3) + f + raw(4) + f + raw(5) + f + raw(6) + f + raw(7) +
			f + f + f + f + raw(10) + suffix + "\r"
	}
	var b bytes.Buffer
	b.Grow(len(reply) + 256)
	b.WriteString(hdr("FHS", "F"))
	b.WriteString(hdr("BHS", "B"))
	b.Write(reply)
	if !bytes.HasSuffix(reply, []byte("\r")) {
		b.WriteByte('\r')
	}
	b.WriteString("BTS" + f + "1\r")
	b.WriteString("FTS" + f + "1\r")
	return b.Bytes()
}
