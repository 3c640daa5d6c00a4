package store

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func pendingIDs(t *testing.T, s *Store, dest string) []ID {
	t.Helper()
	items, err := s.Pending(dest, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]ID, len(items))
	for i, it := range items {
		ids[i] = it.ID
		if it.Destination != dest {
			t.Errorf("item destination %q", it.Destination)
		}
	}
	return ids
}

func TestQueue(t *testing.T) {
	s := newStore(t)
	var ids []ID
	for _, c := range []string{"A", "B", "C", "D"} {
		ids = append(ids, mustCommit(t, s, msg("ch", "S", c), "ch/iis", "ch/file"))
	}
	if got := pendingIDs(t, s, "ch/iis"); !slices.Equal(got, ids) {
		t.Fatalf("pending = %v, want %v", got, ids)
	}
	if n := depth(t, s, "ch/iis"); n != 4 {
		t.Fatalf("depth = %d", n)
	}
	if n := depth(t, s, "nowhere"); n != 0 {
		t.Fatalf("depth(nowhere) = %d", n)
	}

	t.Run("paging", func(t *testing.T) {
		items, err := s.Pending("ch/iis", ids[1], 1)
		if err != nil || len(items) != 1 || items[0].ID != ids[2] || items[0].PatientRef != "ref-C" || items[0].EnqueuedAt.IsZero() {
			t.Fatalf("Pending(after %d, 1) = %+v, %v", ids[1], items, err)
		}
	})

	t.Run("retry", func(t *testing.T) {
		next := time.Now().Add(time.Minute).Truncate(time.Millisecond)
		if err := s.Retry(ids[0], "ch/iis", 3, next, "timeout"); err != nil {
			t.Fatal(err)
		}
		items, _ := s.Pending("ch/iis", 0, 1)
		if items[0].ID != ids[0] || items[0].Attempts != 3 || !items[0].NextAttempt.Equal(next) {
			t.Errorf("item after Retry = %+v", items[0])
		}
		m := mustGet(t, s, ids[0])
		d := m.Deliveries[0]
		if m.Status != StatusQueued || d.Status != StatusQueued || d.Attempts != 3 || d.LastError != "timeout" || !d.NextAttempt.Equal(next) {
			t.Errorf("delivery after Retry = %+v", d)
		}
		if err := s.Retry(ids[0], "ch/elsewhere", 1, next, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Retry of unqueued item = %v", err)
		}
		if err := s.Retry(999, "ch/iis", 1, next, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Retry of missing message = %v", err)
		}
	})

	t.Run("deliver with return", func(t *testing.T) {
		err := s.Deliver(ids[0], "ch/iis", Delivery{Status: StatusRejected, ACKCode: "AE", Sent: []byte("x")},
			&Outgoing{Destination: "ch/return", Payload: []byte("ACK")})
		if err != nil {
			t.Fatal(err)
		}
		if got := pendingIDs(t, s, "ch/iis"); !slices.Equal(got, ids[1:]) {
			t.Errorf("iis pending = %v", got)
		}
		if got := pendingIDs(t, s, "ch/return"); !slices.Equal(got, ids[:1]) {
			t.Errorf("return pending = %v", got)
		}
		if d, r := depth(t, s, "ch/iis"), depth(t, s, "ch/return"); d != 3 || r != 1 {
			t.Errorf("depths iis %d return %d", d, r)
		}
		if err := s.Deliver(ids[0], "ch/iis", Delivery{Status: StatusQueued}, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Deliver(queued) = %v", err)
		}
		if err := s.Deliver(999, "ch/iis", Delivery{Status: StatusSent}, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("Deliver(missing) = %v", err)
		}
		// A failed Deliver must not disturb others in the same batch.
		if n := depth(t, s, "ch/iis"); n != 3 {
			t.Errorf("depth after failed Deliver = %d", n)
		}
	})

	t.Run("dead letter", func(t *testing.T) {
		if err := s.DeadLetter(ids[1], "ch/iis", 7, "max attempts"); err != nil {
			t.Fatal(err)
		}
		if got := pendingIDs(t, s, "ch/iis"); !slices.Equal(got, ids[2:]) {
			t.Errorf("pending = %v", got)
		}
		res, err := s.Search(Query{Status: StatusQueued, Channel: "ch"})
		if err != nil {
			t.Fatal(err)
		}
		// ids[1] is still queued for ch/file.
		if !slices.ContainsFunc(res, func(m Message) bool { return m.ID == ids[1] }) {
			t.Error("message with a queued delivery left must stay queued")
		}
		if err := s.DeadLetter(ids[1], "ch/file", 2, "gone"); err != nil {
			t.Fatal(err)
		}
		if st := mustGet(t, s, ids[1]).Status; st != StatusDeadLettered {
			t.Errorf("status = %s", st)
		}
		if n := depth(t, s, "ch/file"); n != 3 {
			t.Errorf("file depth = %d", n)
		}
	})

	t.Run("requeue", func(t *testing.T) {
		if err := s.Requeue(ids[1], []string{"ch/iis", "ch/file"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Requeue(ids[1], []string{"ch/iis"}); err != nil { // already queued: no double count
			t.Fatal(err)
		}
		if got := pendingIDs(t, s, "ch/iis"); !slices.Equal(got, ids[1:]) {
			t.Errorf("pending = %v", got)
		}
		if d, f := depth(t, s, "ch/iis"), depth(t, s, "ch/file"); d != 3 || f != 4 {
			t.Errorf("depths iis %d file %d", d, f)
		}
		m := mustGet(t, s, ids[1])
		for _, d := range m.Deliveries {
			if d.Status != StatusQueued || d.Attempts != 0 || d.LastError != "" {
				t.Errorf("requeued delivery = %+v", d)
			}
		}
		if m.Status != StatusQueued {
			t.Errorf("status = %s", m.Status)
		}
		if err := s.Requeue(999, []string{"ch/iis"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Requeue(missing) = %v", err)
		}
	})
}

func TestStatusTransitions(t *testing.T) {
	type step struct {
		dest   string
		status Status // final outcome, or StatusDeadLettered
	}
	tests := []struct {
		name  string
		dests []string
		steps []step
		want  Status
	}{
		{"queued", []string{"a"}, nil, StatusQueued},
		{"sent", []string{"a"}, []step{{"a", StatusSent}}, StatusSent},
		{"accepted", []string{"a"}, []step{{"a", StatusAccepted}}, StatusAccepted},
		{"one still queued", []string{"a", "b"}, []step{{"a", StatusRejected}}, StatusQueued},
		{"worst of two", []string{"a", "b"}, []step{{"a", StatusAccepted}, {"b", StatusAcceptedWithWarnings}}, StatusAcceptedWithWarnings},
		{"rejected beats sent", []string{"a", "b"}, []step{{"a", StatusRejected}, {"b", StatusSent}}, StatusRejected},
		{"errored beats rejected", []string{"a", "b"}, []step{{"a", StatusRejected}, {"b", StatusErrored}}, StatusErrored},
		{"dead letter worst", []string{"a", "b"}, []step{{"a", StatusErrored}, {"b", StatusDeadLettered}}, StatusDeadLettered},
		{"redelivered", []string{"a"}, []step{{"a", StatusRejected}, {"a", StatusAccepted}}, StatusAccepted},
	}
	s := newStore(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := mustCommit(t, s, msg("st", "S", tc.name), tc.dests...)
			for _, st := range tc.steps {
				var err error
				if st.status == StatusDeadLettered {
					err = s.DeadLetter(id, st.dest, 3, "gave up")
				} else {
					err = s.Deliver(id, st.dest, Delivery{Status: st.status}, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := mustGet(t, s, id).Status; got != tc.want {
				t.Errorf("status = %s, want %s", got, tc.want)
			}
			// The status index holds exactly the current status.
			for _, st := range []Status{StatusQueued, StatusSent, StatusAccepted, StatusAcceptedWithWarnings,
				StatusRejected, StatusErrored, StatusDeadLettered, StatusReceived} {
				res, err := s.Search(Query{Status: st, ControlID: tc.name})
				if err != nil {
					t.Fatal(err)
				}
				if found := len(res) == 1; found != (st == tc.want) {
					t.Errorf("search status %s found %v", st, found)
				}
				// Drive from the status index alone too.
				res, err = s.Search(Query{Status: st, Channel: "st", Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				if found := slices.ContainsFunc(res, func(m Message) bool { return m.ID == id }); found != (st == tc.want) {
					t.Errorf("status index %s found %v", st, found)
				}
			}
		})
	}
}

func TestDeriveStatus(t *testing.T) {
	ret := func(s Status) Delivery { return Delivery{Status: s, Return: true} }
	d := func(s Status) Delivery { return Delivery{Status: s} }
	tests := []struct {
		name  string
		given Status
		ds    []Delivery
		want  Status
	}{
		{"none", "", nil, StatusReceived},
		{"filtered kept", StatusFiltered, nil, StatusFiltered},
		{"return queued ignored", StatusQueued, []Delivery{d(StatusRejected), ret(StatusQueued)}, StatusRejected},
		{"return sent ignored", "", []Delivery{d(StatusAccepted), ret(StatusSent)}, StatusAccepted},
		{"return dead letter counts", "", []Delivery{d(StatusRejected), ret(StatusDeadLettered)}, StatusDeadLettered},
		{"queued wins", "", []Delivery{d(StatusDeadLettered), d(StatusQueued)}, StatusQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := deriveStatus(tc.given, tc.ds); got != tc.want {
				t.Errorf("deriveStatus = %s, want %s", got, tc.want)
			}
		})
	}
}
