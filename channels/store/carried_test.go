package store

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rs/zerolog"
)

// TestCommitCarriesFinalDeliveries: an outcome decided on receipt (a
// pre-flight rejection) is stored with the message in one transaction,
// bytes included, searchable by its error codes; queued deliveries the
// message carries are replaced, as are final ones for a destination it is
// queued to.
func TestCommitCarriesFinalDeliveries(t *testing.T) {
	s := openTest(t, testConfig(t.TempDir()), zerolog.Nop())
	ack := []byte("MSH|^~\\&|A|B|C|D|20250101||ACK|1|P|2.5.1\rMSA|AE|C1\r")
	tests := []struct {
		name       string
		carry      []Delivery
		dests      []string
		wantStatus Status
		wantDests  []string
	}{
		{"rejected on receipt, nothing queued",
			[]Delivery{{Destination: "vxu/preflight", Status: StatusRejected, ACKCode: "AE", ErrorCodes: []string{"0357:103"}, Response: ack}},
			nil, StatusRejected, []string{"vxu/preflight"}},
		{"a queued delivery carried is dropped, the final one kept",
			[]Delivery{{Destination: "vxu/x", Status: StatusQueued}, {Destination: "vxu/preflight", Status: StatusAccepted}},
			[]string{"vxu/iis"}, StatusQueued, []string{"vxu/preflight", "vxu/iis"}},
		{"a final delivery for a queued destination is replaced",
			[]Delivery{{Destination: "vxu/iis", Status: StatusRejected}},
			[]string{"vxu/iis"}, StatusQueued, []string{"vxu/iis"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Message{Channel: "vxu", ControlID: "C" + string(rune('1'+i)), Raw: []byte("raw"), Deliveries: tc.carry}
			id, err := s.Commit(m, tc.dests, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			var dests []string
			for _, d := range got.Deliveries {
				dests = append(dests, d.Destination)
			}
			if got.Status != tc.wantStatus || !slices.Equal(dests, tc.wantDests) {
				t.Errorf("status %s, deliveries %v; want %s, %v", got.Status, dests, tc.wantStatus, tc.wantDests)
			}
			for _, d := range got.Deliveries {
				if d.Destination == "vxu/preflight" && tc.carry[len(tc.carry)-1].Response != nil && !bytes.Equal(d.Response, ack) {
					t.Errorf("carried response %q, want the ACK", d.Response)
				}
			}
		})
	}
	found, err := s.Search(Query{ErrorCode: "0357:103"})
	if err != nil || len(found) != 1 || found[0].ControlID != "C1" {
		t.Errorf("search by the carried error code: %v, %d found", err, len(found))
	}
}
