package mllp

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

func FuzzFrameRoundTrip(f *testing.F) {
	f.Add([]byte("MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|42|P|2.5.1\r"))
	f.Add([]byte(""))
	f.Add([]byte("PID|1||PAT123||ZZTEST^BETA||20200101\r\n\x1c"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		if bytes.ContainsAny(payload, "\x0b\x1c") || len(payload) > 1<<16 {
			t.Skip("not a legal payload")
		}
		wire := append(Encode(payload), Encode(payload)...)
		sc := NewScanner(iotest.OneByteReader(bytes.NewReader(wire)), 1<<16) // every split point
		for i := range 2 {
			if !sc.Scan() || !bytes.Equal(sc.Bytes(), payload) {
				t.Fatalf("frame %d: round trip failed: %v", i, sc.Err())
			}
		}
		if sc.Scan() || sc.Err() != nil {
			t.Fatalf("after two frames: Scan true or err %v", sc.Err())
		}
	})
}

func FuzzFrameGarbage(f *testing.F) {
	f.Add([]byte("junk\x0bMSH|a\x1c\x0d\x0bpart\x0bMSH|b\x1c\x1c\x0dtail\x0b"), uint16(16))
	f.Add(bytes.Repeat([]byte("\x0bABCDEFGHIJ\x1cX\x1c\x0d"), 8), uint16(4))
	f.Add([]byte("\x1c\x0d\x0b\x1c\x0d\x0b\x0b"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, maxSel uint16) {
		maxFrame := 1 + int(maxSel%(TruncatedKeep+64))
		sc := NewScanner(iotest.OneByteReader(bytes.NewReader(data)), maxFrame)
		var frames []got
		for sc.Scan() {
			p := sc.Bytes()
			if len(p) > maxFrame {
				t.Fatalf("frame of %d bytes exceeds max %d", len(p), maxFrame)
			}
			if bytes.IndexByte(p, StartBlock) >= 0 {
				t.Fatal("start byte inside a delivered frame")
			}
			if sc.Truncated() != (sc.FrameSize() > maxFrame) || (!sc.Truncated() && sc.FrameSize() != len(p)) {
				t.Fatalf("size %d, %d bytes, truncated %v, max %d", sc.FrameSize(), len(p), sc.Truncated(), maxFrame)
			}
			frames = append(frames, got{string(p), sc.Truncated(), sc.FrameSize()})
		}
		want, discarded, incomplete := refScan(data, maxFrame)
		if len(frames) != len(want) {
			t.Fatalf("got %d frames, reference %d", len(frames), len(want))
		}
		for i := range want {
			if frames[i] != want[i] {
				t.Fatalf("frame %d differs from reference", i)
			}
		}
		if sc.Discarded() != discarded || errors.Is(sc.Err(), ErrIncompleteFrame) != incomplete {
			t.Fatalf("discarded %d err %v; reference %d incomplete %v", sc.Discarded(), sc.Err(), discarded, incomplete)
		}
	})
}

// refScan is a byte-at-a-time model of the framer, the reference the
// Scanner must agree with.
func refScan(in []byte, maxFrame int) (frames []got, discarded int, incomplete bool) {
	open := false
	var cur []byte
	for i := 0; i < len(in); i++ {
		b := in[i]
		switch {
		case !open:
			if b == StartBlock {
				open, cur = true, cur[:0]
			}
		case b == StartBlock:
			discarded++
			cur = cur[:0]
		case b == EndBlock && i+1 < len(in) && in[i+1] == CarriageReturn:
			g := got{string(cur), false, len(cur)}
			if len(cur) > maxFrame {
				g.payload, g.truncated = string(cur[:min(TruncatedKeep, maxFrame)]), true
			}
			frames = append(frames, g)
			open = false
			i++
		default:
			cur = append(cur, b)
		}
	}
	if open {
		discarded++
	}
	return frames, discarded, open
}
