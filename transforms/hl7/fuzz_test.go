package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// seedMessages adds every sample, synthetic and malformed message to f.
func seedMessages(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, dir := range []string{messagesDir, "testdata/synthetic", "testdata/malformed"} {
		for _, name := range sampleFiles(f, dir) {
			seeds = append(seeds, readFile(f, name))
		}
	}
	seeds = append(seeds, []byte(canaryVXU), []byte("MSH*%$#!*A\nPID*1**X#F#\r\n"))
	return seeds
}

// FuzzParse: Parse never panics, every error is a *ParseError, a parsed
// message encodes back to its input, reading any element is safe, and the
// ACK or NAK built for the input parses.
func FuzzParse(f *testing.F) {
	for _, s := range seedMessages(f) {
		f.Add(s)
	}
	opt := ACKOptions{ControlID: "F1", Now: time.Unix(0, 0).UTC()}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		m, err := Parse(data)
		if err != nil {
			if _, ok := errors.AsType[*ParseError](err); !ok {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if _, err := Parse(BuildNAK(data, err, "AE", opt)); err != nil {
				t.Fatalf("NAK does not parse: %v", err)
			}
			return
		}
		if !bytes.Equal(m.Encode(), orig) || !bytes.Equal(data, orig) {
			t.Fatal("Encode differs from the input (or the input was modified)")
		}
		for s := range m.Segments() {
			_ = s.Name()
			for i := 1; i <= s.FieldCount()+1; i++ {
				fl := s.Field(i)
				_ = fl.String()
				for r := range fl.Repetitions() {
					_ = r.Component(1).String()
					_ = r.Component(2).Component(2).String()
				}
			}
		}
		_ = m.String()
		ack, err := Parse(BuildACK(m, "AA", []ErrorDetail{{UserMessage: "x"}}, opt))
		if err != nil {
			t.Fatalf("ACK does not parse: %v", err)
		}
		if ack.Value("MSA-2") != m.Value("MSH-10") {
			t.Fatal("MSA-2 does not echo MSH-10")
		}
		for _, part := range Split(data) {
			if len(part) > 0 && !bytes.Contains(data, part) {
				t.Fatal("Split returned bytes not in the input")
			}
		}
	})
}

// FuzzEscape: Unescape(Escape(s)) == s for any s and any valid delimiters,
// and Escape leaves no delimiter, terminator or framing byte behind.
func FuzzEscape(f *testing.F) {
	f.Add("ZZTEST|^~\\&#\r\n\x0b\x1c", []byte("|^~\\&#"), uint8(2))
	f.Add(`\X0D\ \.br\ \F\`, []byte("*%$#!"), uint8(0))
	f.Add("a&b", []byte("|^~\\"), uint8(1))
	f.Fuzz(func(t *testing.T, s string, delims []byte, kind uint8) {
		var d6 [6]byte
		copy(d6[:], delims)
		d := Delimiters{d6[0], d6[1], d6[2], d6[3], d6[4], d6[5]}
		switch kind % 3 {
		case 0:
			d.Truncation = 0
		case 1:
			d.SubComponent, d.Truncation = 0, 0
		}
		if !d.valid() {
			d = Standard
		}
		e := Escape(s, d)
		if got := Unescape(e, d); got != s {
			t.Fatalf("Unescape(Escape(%q)) = %q (escaped %q, delimiters %q)", s, got, e, d6)
		}
		for _, c := range []byte{d.Field, d.Component, d.Repetition, d.SubComponent, d.Truncation, '\r', '\n', 0x0b, 0x1c} {
			if c != 0 && bytes.IndexByte([]byte(e), c) >= 0 {
				t.Fatalf("Escape(%q) = %q still holds %q", s, e, c)
			}
		}
	})
}

// FuzzEdit: after Set, the value reads back from a re-parse of the encoded
// message, and every byte outside the edited segment is unchanged.
func FuzzEdit(f *testing.F) {
	for i, s := range seedMessages(f) {
		f.Add(s, uint8(i), uint8(5), uint8(i%3), uint8(i%4), uint8(i%2), "ZZTEST^O'Brien|\\x")
	}
	f.Fuzz(func(t *testing.T, data []byte, segIdx, field, rep, comp, sub uint8, value string) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		idx := m.index()
		i := int(segIdx) % len(idx)
		target := m.seg(i)
		name, occ := target.Name(), 0
		for j := 0; j <= i; j++ {
			if m.seg(j).Name() == name {
				occ++
			}
		}
		path := fmt.Sprintf("%s[%d]-%d", name, occ, int(field)%30+1)
		if rep%4 != 0 {
			path += fmt.Sprintf("[%d]", rep%4)
		}
		if comp%5 != 0 {
			path += fmt.Sprintf(".%d", comp%5)
			if sub%4 != 0 {
				path += fmt.Sprintf(".%d", sub%4)
			}
		}
		e, err := m.Set(path, value)
		if errors.Is(err, ErrReadOnly) || errors.Is(err, ErrBadPath) && m.d.SubComponent == 0 {
			return
		}
		if err != nil {
			t.Fatalf("Set(%q): %v", path, err)
		}
		if !bytes.Equal(m.Raw(), data) {
			t.Fatal("Set modified the receiver")
		}
		m2, err := Parse(bytes.Clone(e.Encode()))
		if err != nil {
			t.Fatalf("edited message does not parse: %v", err)
		}
		if e.SegmentCount() != m2.SegmentCount() || e.d != m2.d || e.msh != m2.msh {
			t.Fatalf("Set(%q): the edited message has %d segments, a fresh parse %d", path, e.SegmentCount(), m2.SegmentCount())
		}
		for j := range m2.index() { // the edit's segments (kept aside or in raw) are a fresh parse's
			if !bytes.Equal(e.seg(j).Raw(), m2.seg(j).Raw()) {
				t.Fatalf("Set(%q): segment %d of the edited message differs from a fresh parse's", path, j)
			}
		}
		if got, ok, err := e.Get(path); got != value || !ok || err != nil {
			t.Fatalf("Get(%q) on the edited message = %q, %v, %v; want %q", path, got, ok, err, value)
		}
		if got, ok, err := m2.Get(path); got != value || !ok || err != nil {
			t.Fatalf("Get(%q) after Set = %q, %v, %v; want %q", path, got, ok, err, value)
		}
		seg, _ := m2.Segment(name, occ)
		before, after := data[:idx[i].off], data[idx[i].end:]
		enc := e.Encode()
		if !bytes.HasPrefix(enc, before) || !bytes.HasSuffix(enc, after) ||
			len(enc) != len(before)+len(seg.Raw())+len(after) {
			t.Fatal("bytes outside the edited segment changed")
		}
		if m2.SegmentCount() != m.SegmentCount() {
			t.Fatal("segment count changed")
		}
	})
}
