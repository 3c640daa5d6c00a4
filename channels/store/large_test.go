package store

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/rs/zerolog"
)

// TestCommitLargeMessages: a message's bytes of any size a source accepts
// are stored and read back exactly, before and after a reopen, also when
// its raw, transformed and carried sent and response bytes are all large.
// Badger refuses a transaction above 15% of a memtable; the value
// threshold must keep one message's op below that (badgerOptions).
func TestCommitLargeMessages(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s := openTest(t, cfg, zerolog.Nop())
	sizes := []int{2 << 10, valueThreshold - 1, valueThreshold, 600 << 10, memTableSize + 1}
	fill := func(size int, tag byte) []byte {
		b := bytes.Repeat([]byte{tag}, size)
		copy(b, fmt.Sprintf("MSH|%d|%c|", size, tag))
		return b
	}
	ids := make([]ID, len(sizes))
	for i, size := range sizes {
		m := &Message{
			Channel: "big", ControlID: fmt.Sprint("C", i), Raw: fill(size, 'r'), Transformed: fill(size, 'x'),
			Deliveries: []Delivery{{Destination: "big/preflight", Status: StatusRejected, ACKCode: "AE",
				Sent: fill(size, 's'), Response: fill(size, 'a')}},
		}
		var err error
		if ids[i], err = s.Commit(m, []string{"big/iis"}, 0); err != nil {
			t.Fatalf("Commit of %d-byte stages: %v", size, err)
		}
	}
	check := func(s *Store, when string) {
		t.Helper()
		for i, size := range sizes {
			got := mustGet(t, s, ids[i])
			var sent, resp []byte
			for _, d := range got.Deliveries {
				if d.Destination == "big/preflight" {
					sent, resp = d.Sent, d.Response
				}
			}
			for _, stage := range []struct {
				name string
				got  []byte
				tag  byte
			}{{"raw", got.Raw, 'r'}, {"transformed", got.Transformed, 'x'}, {"sent", sent, 's'}, {"response", resp, 'a'}} {
				if !bytes.Equal(stage.got, fill(size, stage.tag)) {
					t.Errorf("%s: %d-byte message: %s has %d bytes, not the ones stored", when, size, stage.name, len(stage.got))
				}
			}
		}
	}
	check(s, "before the reopen")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(openTest(t, cfg, zerolog.Nop()), "after the reopen")
}
