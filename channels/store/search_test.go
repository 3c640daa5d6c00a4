package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture commits 60 messages with varied fields and outcomes and returns
// their final records, oldest first.
func fixture(t *testing.T, s *Store) []Message {
	t.Helper()
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	types := []string{"VXU^V04^VXU_V04", "QBP^Q11^QBP_Q11", "VXR^V03", "ADT^A04"}
	var ids []ID
	for i := range 60 {
		m := &Message{
			Channel:    []string{"a", "b"}[i%2],
			Sender:     []string{"S1", "S2", "S3"}[i%3],
			ControlID:  fmt.Sprintf("CTL%d", i%20), // repeats across channels and senders
			Type:       types[i%4],
			PatientRef: fmt.Sprintf("P%d", i%7),
			ReceivedAt: base.Add(time.Duration(i) * time.Minute),
			Raw:        vxu(fmt.Sprint(i)),
		}
		dest := m.Channel + "/iis"
		id := mustCommit(t, s, m, dest)
		switch i % 5 {
		case 0:
			_ = s.Deliver(id, dest, Delivery{Status: StatusAccepted, ACKCode: "AA"}, nil)
		case 1:
			_ = s.Deliver(id, dest, Delivery{Status: StatusRejected, ACKCode: "AE", ErrorCodes: []string{"0357:101", "0533:5"}}, nil)
		case 2:
			_ = s.Deliver(id, dest, Delivery{Status: StatusAcceptedWithWarnings, ACKCode: "AA", ErrorCodes: []string{"0357:102"}}, nil)
		case 3:
			_ = s.DeadLetter(id, dest, 9, "max attempts")
		}
		ids = append(ids, id)
	}
	out := make([]Message, len(ids))
	for i, id := range ids {
		out[i] = *mustGet(t, s, id)
	}
	return out
}

// oracle filters recs by q the slow way, newest first.
func oracle(recs []Message, q Query) []ID {
	var out []ID
	for i := len(recs) - 1; i >= 0; i-- {
		m := recs[i]
		ok := (q.Channel == "" || m.Channel == q.Channel) &&
			(q.ControlID == "" || m.ControlID == q.ControlID) &&
			(q.Sender == "" || m.Sender == q.Sender) &&
			(q.Type == "" || strings.HasPrefix(m.Type, q.Type)) &&
			(q.PatientRef == "" || m.PatientRef == q.PatientRef) &&
			(q.Status == "" || m.Status == q.Status) &&
			(q.Since.IsZero() || !m.ReceivedAt.Before(q.Since)) &&
			(q.Until.IsZero() || m.ReceivedAt.Before(q.Until)) &&
			(q.After == 0 || m.ID < q.After)
		if ok && q.ACKCode != "" {
			ok = slices.ContainsFunc(m.Deliveries, func(d Delivery) bool { return d.ACKCode == q.ACKCode })
		}
		if ok && q.ErrorCode != "" {
			ok = slices.ContainsFunc(m.Deliveries, func(d Delivery) bool { return slices.Contains(d.ErrorCodes, q.ErrorCode) })
		}
		if ok {
			out = append(out, m.ID)
		}
	}
	return out
}

func TestSearch(t *testing.T) {
	s := newStore(t)
	recs := fixture(t, s)
	t0 := recs[0].ReceivedAt
	tests := []struct {
		name string
		q    Query
	}{
		{"all", Query{Limit: 1000}},
		{"channel", Query{Channel: "a"}},
		{"control id", Query{ControlID: "CTL3"}},
		{"sender", Query{Sender: "S2"}},
		{"type code prefix", Query{Type: "VX"}},
		{"type code", Query{Type: "VXU"}},
		{"type with trigger", Query{Type: "QBP^Q11"}},
		{"type partial trigger", Query{Type: "VXR^V"}},
		{"type none", Query{Type: "ORU"}},
		{"patient", Query{PatientRef: "P3"}},
		{"status accepted", Query{Status: StatusAccepted}},
		{"status queued", Query{Status: StatusQueued}},
		{"status dead", Query{Status: StatusDeadLettered}},
		{"ack AE", Query{ACKCode: "AE"}},
		{"ack AA", Query{ACKCode: "AA"}},
		{"error code", Query{ErrorCode: "0357:101"}},
		{"error code 2", Query{ErrorCode: "0357:102"}},
		{"since", Query{Since: t0.Add(50 * time.Minute)}},
		{"until", Query{Until: t0.Add(5 * time.Minute)}},
		{"range", Query{Since: t0.Add(10 * time.Minute), Until: t0.Add(20 * time.Minute)}},
		{"channel+status", Query{Channel: "b", Status: StatusRejected}},
		{"sender+type+patient", Query{Sender: "S1", Type: "VXU", PatientRef: "P0"}},
		{"ack+error+channel", Query{ACKCode: "AE", ErrorCode: "0533:5", Channel: "b"}},
		{"status+range", Query{Status: StatusAccepted, Since: t0.Add(20 * time.Minute)}},
		{"control+sender", Query{ControlID: "CTL5", Sender: "S3"}},
		{"no match", Query{ControlID: "CTL5", Sender: "S1", Channel: "b"}},
		{"unknown value", Query{Sender: "NOPE"}},
		{"after", Query{Channel: "a", After: recs[30].ID}},
		{"after with index", Query{Status: StatusAccepted, After: recs[40].ID}},
		{"limit", Query{Channel: "a", Limit: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Search(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			want := oracle(recs, tc.q)
			limit := tc.q.Limit
			if limit == 0 {
				limit = 100
			}
			if len(want) > limit {
				want = want[:limit]
			}
			gotIDs := make([]ID, len(got))
			for i, m := range got {
				gotIDs[i] = m.ID
				if m.Raw != nil || m.Transformed != nil {
					t.Errorf("search result %d carries bytes", m.ID)
				}
			}
			if !slices.Equal(gotIDs, want) {
				t.Errorf("got %v\nwant %v", gotIDs, want)
			}
			if tc.name != "no match" && tc.name != "unknown value" && tc.name != "type none" && len(want) == 0 {
				t.Errorf("test case matches nothing")
			}
		})
	}
}

func TestSearchPaging(t *testing.T) {
	s := newStore(t)
	recs := fixture(t, s)
	for _, q := range []Query{{}, {Channel: "a"}, {Status: StatusQueued}, {Type: "V"}, {Since: recs[5].ReceivedAt}} {
		t.Run(fmt.Sprintf("%+v", q.Channel+string(q.Status)+q.Type), func(t *testing.T) {
			want := oracle(recs, q)
			var got []ID
			page := q
			page.Limit = 4
			for range 100 {
				res, err := s.Search(page)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range res {
					got = append(got, m.ID)
				}
				if len(res) < page.Limit {
					break
				}
				page.After = res[len(res)-1].ID
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged %v\nwant  %v", got, want)
			}
		})
	}
	if res, err := s.Search(Query{After: 1}); err != nil || len(res) != 0 {
		t.Errorf("After=1: %v %v", res, err)
	}
	if res, _ := s.Search(Query{Limit: 5000}); len(res) != len(recs) {
		t.Errorf("limit clamp: %d", len(res))
	}
}
