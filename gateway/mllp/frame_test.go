package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	payload   string
	truncated bool
	size      int
}

// scanAll reads every frame from r.
func scanAll(r io.Reader, maxFrame int) ([]got, int, error) {
	sc := NewScanner(r, maxFrame)
	var out []got
	for sc.Scan() {
		out = append(out, got{string(sc.Bytes()), sc.Truncated(), sc.FrameSize()})
	}
	return out, sc.Discarded(), sc.Err()
}

// splitReader returns its chunks one per Read.
type splitReader struct{ chunks [][]byte }

func (r *splitReader) Read(p []byte) (int, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

func frame(s string) string { return "\x0b" + s + "\x1c\x0d" }

func TestScanner(t *testing.T) {
	msg := "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101||VXU^V04^VXU_V04|MSG1|P|2.5.1\rPID|1||PAT123||ZZTEST^ALPHA||20200101\r"
	big := strings.Repeat("A", 5000)
	tests := []struct {
		name      string
		in        string
		max       int
		want      []got
		discarded int
		err       error
	}{
		{name: "one frame", in: frame(msg), want: []got{{msg, false, len(msg)}}},
		{name: "two frames in one read", in: frame("one") + frame("two"),
			want: []got{{"one", false, 3}, {"two", false, 3}}},
		{name: "empty frame", in: frame(""), want: []got{{"", false, 0}}},
		{name: "garbage before start byte", in: "junk\r\n\x1c\x0d" + frame("one"), want: []got{{"one", false, 3}}},
		{name: "garbage between and after frames", in: frame("one") + "\n\n" + frame("two") + "\r\n",
			want: []got{{"one", false, 3}, {"two", false, 3}}},
		{name: "restart on new start byte", in: "\x0bpartial" + frame("whole"),
			want: []got{{"whole", false, 5}}, discarded: 1},
		{name: "lone end block is data", in: frame("a\x1cb"), want: []got{{"a\x1cb", false, 3}}},
		{name: "end block twice then cr", in: frame("a\x1c"), want: []got{{"a\x1c", false, 2}}},
		{name: "end block then start byte restarts", in: "\x0ba\x1c" + frame("b"),
			want: []got{{"b", false, 1}}, discarded: 1},
		{name: "eof inside frame", in: frame("one") + "\x0bhalf", want: []got{{"one", false, 3}},
			discarded: 1, err: ErrIncompleteFrame},
		{name: "eof after end block", in: "\x0bhalf\x1c", discarded: 1, err: ErrIncompleteFrame},
		{name: "exactly max", in: frame(strings.Repeat("x", 1024)), max: 1024,
			want: []got{{strings.Repeat("x", 1024), false, 1024}}},
		{name: "max plus one truncated", in: frame(strings.Repeat("x", 1025)), max: 1024,
			want: []got{{strings.Repeat("x", 1024), true, 1025}}},
		{name: "oversize then next frame", in: frame(big) + frame(msg), max: 1024,
			want: []got{{big[:1024], true, 5000}, {msg, false, len(msg)}}},
		{name: "oversize keeps 4KiB", in: frame(big + "\x1cZ" + big), max: 4096,
			want: []got{{big[:4096], true, 10002}}},
		{name: "restart inside oversize", in: "\x0b" + big + frame("ok"), max: 1024,
			want: []got{{"ok", false, 2}}, discarded: 1},
		{name: "oversize end block split", in: frame(big+"\x1c") + frame("ok"), max: 1024,
			want: []got{{big[:1024], true, 5001}, {"ok", false, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, how string, r io.Reader) {
				t.Helper()
				frames, discarded, err := scanAll(r, tc.max)
				if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
					t.Fatalf("%s: err = %v, want %v", how, err, tc.err)
				}
				if len(frames) != len(tc.want) {
					t.Fatalf("%s: got %d frames, want %d", how, len(frames), len(tc.want))
				}
				for i := range frames {
					if frames[i] != tc.want[i] {
						t.Fatalf("%s: frame %d = {%d bytes, %v, %d}, want {%d bytes, %v, %d}", how, i,
							len(frames[i].payload), frames[i].truncated, frames[i].size,
							len(tc.want[i].payload), tc.want[i].truncated, tc.want[i].size)
					}
				}
				if discarded != tc.discarded {
					t.Fatalf("%s: discarded = %d, want %d", how, discarded, tc.discarded)
				}
			}
			in := []byte(tc.in)
			check(t, "whole", bytes.NewReader(in))
			check(t, "one byte", iotest.OneByteReader(bytes.NewReader(in)))
			check(t, "data+eof", iotest.DataErrReader(bytes.NewReader(in)))
			for i := 1; i < len(in); i++ { // split reads at every byte
				check(t, "split", &splitReader{chunks: [][]byte{bytes.Clone(in[:i]), bytes.Clone(in[i:])}})
			}
		})
	}
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(frame("one")+"\x0bpart"), iotest.ErrReader(boom))
	sc := NewScanner(r, 0)
	if !sc.Scan() || string(sc.Bytes()) != "one" {
		t.Fatal("first frame not delivered")
	}
	if sc.Scan() {
		t.Fatal("Scan after error returned true")
	}
	if !errors.Is(sc.Err(), boom) {
		t.Fatalf("Err = %v, want boom", sc.Err())
	}
	if sc.Scan() {
		t.Fatal("Scan after end returned true")
	}
}

func TestScannerNoProgress(t *testing.T) {
	sc := NewScanner(zeroReader{}, 0)
	if sc.Scan() || !errors.Is(sc.Err(), io.ErrNoProgress) {
		t.Fatalf("Err = %v, want io.ErrNoProgress", sc.Err())
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestScannerCounters(t *testing.T) {
	sc := NewScanner(strings.NewReader("abc"+frame("x")+"\x0bdrop"+frame("y")+"z"), 0)
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 2 || sc.Skipped() != 4 || sc.Discarded() != 1 || sc.Err() != nil {
		t.Fatalf("frames=%d skipped=%d discarded=%d err=%v", n, sc.Skipped(), sc.Discarded(), sc.Err())
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "\x0b\x1c\x0d"},
		{"message", "MSH|x\r", "\x0bMSH|x\r\x1c\x0d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Encode([]byte(tc.in))); got != tc.want {
				t.Fatalf("Encode = %q, want %q", got, tc.want)
			}
			if got := string(AppendFrame([]byte("p"), []byte(tc.in))); got != "p"+tc.want {
				t.Fatalf("AppendFrame = %q, want %q", got, "p"+tc.want)
			}
		})
	}
}
