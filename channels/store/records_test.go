package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rs/zerolog"
)

func TestRecordsPutGetListDelete(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, testConfig(dir), zerolog.Nop())
	for i := range 5 {
		if err := s.PutRecord("audit", fmt.Sprintf("p1/%03d", i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutRecord("audit", "p2/000", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRecord("chart", "p1", []byte("chart")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kind, prefix, after string
		limit               int
		want                []string
	}{
		{"audit", "p1/", "", 0, []string{"p1/000", "p1/001", "p1/002", "p1/003", "p1/004"}},
		{"audit", "p1/", "p1/001", 2, []string{"p1/002", "p1/003"}},
		{"audit", "", "", 0, []string{"p1/000", "p1/001", "p1/002", "p1/003", "p1/004", "p2/000"}},
		{"audit", "p3/", "", 0, nil},
		{"chart", "", "", 0, []string{"p1"}},
	}
	for _, tc := range tests {
		rs, err := s.Records(tc.kind, tc.prefix, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Key)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Records(%q, %q, %q, %d) = %v, want %v", tc.kind, tc.prefix, tc.after, tc.limit, got, tc.want)
		}
	}
	if err := s.DeleteRecord("chart", "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecord("chart", "p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted record: err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRecord("", "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty kind: err = %v, want ErrInvalid", err)
	}

	// Records survive a restart (journal replay or checkpoint).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, testConfig(dir), zerolog.Nop())
	v, err := s.GetRecord("audit", "p1/003")
	if err != nil || len(v) != 1 || v[0] != 3 {
		t.Fatalf("after reopen: %v %v", v, err)
	}
}

func TestIDsAfter(t *testing.T) {
	s := newStore(t)
	var ids []ID
	for i := range 4 {
		ids = append(ids, mustCommit(t, s, msg("c", "S", fmt.Sprint(i))))
	}
	got, err := s.IDsAfter(ids[1], 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(ids[2:]) {
		t.Fatalf("IDsAfter = %v, want %v", got, ids[2:])
	}
	if got, _ := s.IDsAfter(0, 1); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("IDsAfter(0, 1) = %v", got)
	}
}

func TestMeta(t *testing.T) {
	s := newStore(t)
	m := msg("c", "S", "M1")
	m.Raw = vxu("M1")
	id := mustCommit(t, s, m)
	got, err := s.Meta(id)
	if err != nil || got.ControlID != "M1" || got.Channel != "c" || got.Raw != nil {
		t.Fatalf("Meta: %+v %v", got, err)
	}
	if _, err := s.Meta(id + 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Meta of an absent ID: %v", err)
	}
}
