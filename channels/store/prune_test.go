package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestPrune(t *testing.T) {
	s := newStore(t)
	now := time.Now()
	type seed struct {
		channel string
		age     time.Duration
		queued  bool
	}
	seeds := []seed{
		{"short", 3 * time.Hour, false},     // metadata gone
		{"short", 3 * time.Hour, true},      // metadata gone, queue item too
		{"short", 90 * time.Minute, false},  // content gone
		{"short", 90 * time.Minute, true},   // still queued: keeps content
		{"short", 30 * time.Minute, false},  // kept
		{"long", 3 * time.Hour, false},      // kept (default retention)
		{"long", 1000 * time.Hour, false},   // content gone (720h default)
		{"short", 100 * time.Minute, false}, // content gone although committed after a younger one
	}
	ids := make([]ID, len(seeds))
	for i, sd := range seeds {
		m := msg(sd.channel, "S", fmt.Sprint("P", i))
		m.ReceivedAt = now.Add(-sd.age)
		dest := sd.channel + "/d"
		ids[i] = mustCommit(t, s, m, dest)
		if !sd.queued {
			if err := s.Deliver(ids[i], dest, Delivery{Status: StatusAccepted, ACKCode: "AA", Sent: []byte("x"), Response: []byte("y")}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	ret := func(ch string) Retention {
		if ch == "short" {
			return Retention{Content: time.Hour, Metadata: 2 * time.Hour}
		}
		return Retention{}
	}
	st, err := s.prune(ret)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 {
		t.Errorf("records pruned = %d, want 2", st.Records)
	}

	tests := []struct {
		i       int
		gone    bool
		pruned  bool
		comment string
	}{
		{0, true, false, "old"},
		{1, true, false, "old queued"},
		{2, false, true, "content age"},
		{3, false, false, "queued keeps content"},
		{4, false, false, "young"},
		{5, false, false, "long retention"},
		{6, false, true, "default content retention"},
		{7, false, true, "committed after a younger record"},
	}
	for _, tc := range tests {
		t.Run(tc.comment, func(t *testing.T) {
			id := ids[tc.i]
			m, err := s.Get(id)
			if tc.gone {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get = %v, want ErrNotFound", err)
				}
				res, err := s.Search(Query{ControlID: fmt.Sprint("P", tc.i)})
				if err != nil || len(res) != 0 {
					t.Errorf("index entries left: %v %v", res, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.ContentPruned != tc.pruned || (m.Raw == nil) != tc.pruned {
				t.Errorf("ContentPruned = %v, raw %d bytes", m.ContentPruned, len(m.Raw))
			}
			if tc.pruned {
				if m.Deliveries[0].Sent != nil || m.Deliveries[0].Response != nil {
					t.Error("delivery bytes kept")
				}
				if m.Status != StatusAccepted || m.Deliveries[0].ACKCode != "AA" {
					t.Errorf("metadata lost: %+v", m)
				}
				if err := s.Requeue(id, []string{"x/d"}); !errors.Is(err, ErrPruned) {
					t.Errorf("Requeue of pruned = %v", err)
				}
			}
		})
	}
	if got := pendingIDs(t, s, "short/d"); !slices.Equal(got, []ID{ids[3]}) {
		t.Errorf("short/d pending = %v", got)
	}
	if n := depth(t, s, "short/d"); n != 1 {
		t.Errorf("short/d depth = %d", n)
	}

	// A second pass finds nothing new, and a later one prunes once the
	// records age.
	if st.Content != 3 {
		t.Errorf("content pruned = %d, want 3", st.Content)
	}
	if st, err := s.prune(ret); err != nil || st.Records != 0 || st.Content != 0 {
		t.Errorf("second pass = %+v, %v", st, err)
	}
	s.now = func() time.Time { return now.Add(3 * time.Hour) }
	if _, err := s.prune(ret); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(Query{Channel: "short"})
	if err != nil || len(res) != 0 {
		t.Errorf("short channel after 3h: %d left, %v", len(res), err)
	}
	if res, _ := s.Search(Query{Channel: "long"}); len(res) != 2 {
		t.Errorf("long channel: %d left", len(res))
	}
}

func TestStartPruner(t *testing.T) {
	s := newStore(t)
	s.cfg.PruneInterval = 20 * time.Millisecond // below what Validate allows
	m := msg("ch", "S", "OLD")
	m.ReceivedAt = time.Now().Add(-24 * time.Hour)
	id := mustCommit(t, s, m)
	mustCommit(t, s, msg("ch", "S", "YOUNG")) // keeps the channel alive
	runs := make(chan string, 100)
	s.StartPruner(func(ch string) Retention {
		runs <- ch
		return Retention{Content: time.Minute, Metadata: time.Hour}
	})
	s.StartPruner(nil) // ignored
	for range 2 {
		select {
		case <-runs:
		case <-time.After(5 * time.Second):
			t.Fatal("pruner did not run twice")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := s.Get(id); errors.Is(err, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old record not pruned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
