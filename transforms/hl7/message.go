package hl7

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/rs/zerolog"
)

// Raw returns the wire bytes the message was parsed from (or built from, after
// edits). Never pass them to a logger or an error: they hold PHI.
func (m *Message) Raw() []byte {
	if len(m.over) == 0 {
		return m.raw[:len(m.raw):len(m.raw)]
	}
	m.flatOnce.Do(func() { m.flat = m.flatten() })
	return m.flat[:len(m.flat):len(m.flat)]
}

// flatten returns raw with the edited segments in place.
func (m *Message) flatten() []byte {
	idx := m.index()
	out := make([]byte, 0, m.size())
	out = append(out, m.raw[:idx[0].off]...)
	for i, si := range idx {
		out = append(out, m.segBytes(i)...)
		end := len(m.raw)
		if i+1 < len(idx) {
			end = int(idx[i+1].off)
		}
		out = append(out, m.raw[si.end:end]...) // terminator, blank and batch lines
	}
	return out
}

// size returns len(m.Raw()) without building it.
func (m *Message) size() int {
	n := len(m.raw)
	for _, o := range m.over {
		si := m.segs[o.i]
		n += len(o.b) - int(si.end-si.off)
	}
	return n
}

// flattened returns m with raw holding every edit (m itself when it has
// none), for the edits that work on offsets into raw.
func (m *Message) flattened() *Message {
	if len(m.over) == 0 {
		return m
	}
	return newMessage(m.Raw(), m.d, m.msh)
}

// Encode returns the message in wire form. Parse never rewrites bytes and
// edits splice new bytes into a copy, so Encode is Raw: an untouched message
// encodes to exactly its input, an edited one keeps every untouched byte
// (terminators, blank lines, leading and trailing bytes included). The caller
// must not modify the result.
func (m *Message) Encode() []byte { return m.Raw() }

// Delims returns the delimiters declared in MSH-1 and MSH-2.
func (m *Message) Delims() Delimiters { return m.d }

// Type returns MSH-9 as wire text, e.g. "VXU^V04^VXU_V04".
func (m *Message) Type() string {
	return string(m.msh1().Field(9).raw)
}

// ControlID returns MSH-10, decoded.
func (m *Message) ControlID() string {
	return m.msh1().Field(10).String()
}

// msh1 returns the header segment.
func (m *Message) msh1() Segment { m.index(); return m.seg(0) }

// String returns "hl7 <type> control_id=<id>" and nothing else of the
// message, so that %v and %s never leak PHI.
func (m *Message) String() string {
	if m == nil {
		return "hl7 <nil>"
	}
	return "hl7 " + m.Type() + " control_id=" + m.ControlID()
}

// GoString returns the same as String: %#v must not dump the fields.
func (m *Message) GoString() string { return m.String() }

// Format writes String for every verb, so that no verb (%d, %x, %+v …) can
// print the raw bytes.
func (m *Message) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// MarshalZerologObject logs the allowed header fields only: control_id
// (MSH-10), type (MSH-9), sender (MSH-4) and bytes (the size).
func (m *Message) MarshalZerologObject(e *zerolog.Event) {
	if m == nil {
		return
	}
	e.Str("control_id", m.ControlID()).
		Str("type", m.Type()).
		Str("sender", m.msh1().Field(4).String()).
		Int("bytes", m.size())
}

// PatientRef returns a pseudonymous patient reference safe to log: the first
// 16 hex digits of HMAC-SHA256(key, PID-3.1 of the first repetition). It
// returns "" when the message has no patient identifier.
func (m *Message) PatientRef(key []byte) string {
	id := m.Value("PID-3.1")
	if id == "" {
		return ""
	}
	return PatientRef(key, id)
}

// PatientRef is Message.PatientRef for a patient identifier (an MRN) given
// as text: what a search by MRN compares with the stored references.
func PatientRef(key []byte, id string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}
