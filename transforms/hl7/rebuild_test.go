package hl7

import (
	"errors"
	"testing"
)

// TestRebuild: segments are reordered and inserted in one copy; each slot
// keeps the original's line ending and blank lines; a new slot gets the
// dominant terminator.
func TestRebuild(t *testing.T) {
	m, err := Parse([]byte("MSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\r\nPID|1\r\n\r\nPD1|1\r\nORC|RE\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		pieces []Piece
		want   string
		err    error
	}{
		{"move PD1 up", []Piece{{Orig: 0}, {Orig: 2}, {Orig: 1}, {Orig: 3}},
			"MSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\r\nPD1|1\r\n\r\nPID|1\r\nORC|RE\r\n", nil},
		{"insert at the end", []Piece{{Orig: 0}, {Orig: 1}, {Orig: 2}, {Orig: 3}, {Orig: -1, Text: []byte("OBX|1")}},
			"MSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\r\nPID|1\r\n\r\nPD1|1\r\nORC|RE\r\nOBX|1\r\n", nil},
		{"drop one", []Piece{{Orig: 0}, {Orig: 3}},
			"MSH|^~\\&|A|B|C|D|20250101||VXU^V04|1|P|2.5.1\r\nORC|RE\r\n", nil},
		{"MSH not first", []Piece{{Orig: 1}, {Orig: 0}}, "", ErrReadOnly},
		{"no such segment", []Piece{{Orig: 0}, {Orig: 9}}, "", ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Rebuild(tc.pieces)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || string(got.Raw()) != tc.want {
				t.Errorf("got %q (%v)\nwant %q", got.Raw(), err, tc.want)
			}
		})
	}
}
