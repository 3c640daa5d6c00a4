package channels

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// controlSeq numbers the messages the engine writes within a process; it
// starts at a random value so that control IDs stay distinct across a quick
// restart.
var (
	controlSeq     atomic.Uint32
	controlSeqBase = rand.Uint32()
)

// ControlID returns a fresh MSH-10 for a message the engine writes: kind, a
// letter naming what it is ("R" a return to the EHR, "Q" a Sync Registry
// query …), the time (yyyymmddhhmmss, UTC) and a five-digit sequence, 20
// characters in all (the ST length limit of HL7 versions before 2.5).
func ControlID(kind byte, now time.Time) string {
	n := (controlSeqBase + controlSeq.Add(1)) % 100000
	return fmt.Sprintf("%c%s%05d", kind, now.UTC().Format("20060102150405"), n)
}

// returnControlID returns a fresh MSH-10 for a return message.
func returnControlID(now time.Time) string { return ControlID('R', now) }

// The ERR-3 of a dead-lettered delivery's return (HL7 table 0357).
const (
	returnFailureCode = "207"
	returnFailureText = "Application internal error"
)

// buildReturn builds the message sent back to the EHR after a destination
// outcome for original, the message the EHR sent.
//
//   - failure != "" (the delivery was dead-lettered; failure is its error
//     text, which never holds PHI): an ACK to original with MSA-1 AE and one
//     ERR 207 "Application internal error", severity E, ERR-8 = failure.
//   - reply is an HL7 message with an MSA (an ACK, or an RSP to a query): a
//     copy of reply, re-addressed. MSH-3/4 become original's MSH-5/6 (the
//     engine speaks as the receiver the EHR addressed), MSH-5/6 original's
//     MSH-3/4, MSH-10 a new control ID, and MSA-2 of every MSA original's
//     MSH-10. Every other byte is kept: MSA-1, MSA-3, every ERR segment,
//     MSH-7 (when the destination answered) and the terminators.
//   - otherwise (HTTP body that is not HL7, a file): an ACK to original
//     with MSA-1 from verdict: AA for Accepted and Unknown (the delivery
//     succeeded and nothing says otherwise), AE for AcceptedWithWarnings,
//     AR for Rejected.
//
// Values copied from original are re-encoded when reply declares other
// delimiters. Errors never contain field values.
func buildReturn(original *hl7.Message, reply []byte, verdict iis.Verdict, failure string, now time.Time) ([]byte, error) {
	if original == nil {
		return nil, errors.New("channels: return: no original message")
	}
	opt := hl7.ACKOptions{ControlID: returnControlID(now), Now: now}
	if failure != "" {
		return hl7.BuildACK(original, "AE", []hl7.ErrorDetail{{
			Code:        returnFailureCode,
			CodeText:    returnFailureText,
			Severity:    'E',
			UserMessage: failure,
		}}, opt), nil
	}
	if m, err := hl7.Parse(reply); err == nil {
		if _, ok := m.Segment("MSA", 1); ok {
			return readdress(original, m, opt.ControlID)
		}
	}
	code, err := returnCode(verdict)
	if err != nil {
		return nil, err
	}
	return hl7.BuildACK(original, code, nil, opt), nil
}

// returnCode maps a verdict on a non-HL7 reply to MSA-1.
func returnCode(v iis.Verdict) (string, error) {
	switch v {
	case iis.Accepted, iis.Unknown, "":
		return "AA", nil
	case iis.AcceptedWithWarnings:
		return "AE", nil
	case iis.Rejected:
		return "AR", nil
	}
	return "", fmt.Errorf("channels: return: unknown verdict %q", string(v))
}

// readdress returns reply addressed from original's receiver to original's
// sender, answering original's MSH-10, with MSH-10 = controlID.
func readdress(original, reply *hl7.Message, controlID string) ([]byte, error) {
	from, to := original.Delims(), reply.Delims()
	omsh, _ := original.Segment("MSH", 1)
	set := func(m *hl7.Message, path string, src hl7.Field) (*hl7.Message, error) {
		return m.SetRaw(path, recode(src.Raw(), from, to))
	}
	edits := []struct {
		path string
		src  hl7.Field
	}{
		{"MSH-3", omsh.Field(5)},
		{"MSH-4", omsh.Field(6)},
		{"MSH-5", omsh.Field(3)},
		{"MSH-6", omsh.Field(4)},
	}
	m := reply
	var err error
	for _, e := range edits {
		if m, err = set(m, e.path, e.src); err != nil {
			return nil, fmt.Errorf("channels: return: %w", err)
		}
	}
	if m, err = m.Set("MSH-10", controlID); err != nil {
		return nil, fmt.Errorf("channels: return: %w", err)
	}
	n := 0
	for range reply.SegmentsNamed("MSA") {
		n++
	}
	for i := 1; i <= n; i++ {
		if m, err = set(m, "MSA["+strconv.Itoa(i)+"]-2", omsh.Field(10)); err != nil {
			return nil, fmt.Errorf("channels: return: %w", err)
		}
	}
	return bytes.Clone(m.Raw()), nil
}

// recode re-encodes a field's wire bytes from delimiters from to
// delimiters to: components and sub-components are split with from's
// delimiters, each leaf unescaped with from's and escaped with to's.
// Repetitions are kept apart the same way. When the delimiters are the
// same, the bytes are returned as they are.
func recode(raw []byte, from, to hl7.Delimiters) string {
	if from == to {
		return string(raw)
	}
	var b []byte
	for r, rep := range bytes.Split(raw, []byte{from.Repetition}) {
		if r > 0 {
			b = append(b, to.Repetition)
		}
		for c, comp := range bytes.Split(rep, []byte{from.Component}) {
			if c > 0 {
				b = append(b, to.Component)
			}
			subs := [][]byte{comp}
			if from.SubComponent != 0 && to.SubComponent != 0 {
				subs = bytes.Split(comp, []byte{from.SubComponent})
			} // else: a sub-component separator stays a plain character
			for s, sub := range subs {
				if s > 0 {
					b = append(b, to.SubComponent)
				}
				b = append(b, hl7.Escape(hl7.Unescape(string(sub), from), to)...)
			}
		}
	}
	return string(b)
}
