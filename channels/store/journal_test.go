package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

func openTestBadger(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestJournalReplay writes records, tears the tail the way a crash in the
// middle of an append would, and replays into an empty database: every
// whole record is applied in order, the torn one is not.
func TestJournalReplay(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	dir := t.TempDir()
	j, err := openJournal(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	batches := [][]mutation{
		{{kind: mutSet, key: []byte("a"), val: []byte("1")}, {kind: mutSet, key: []byte("b"), val: []byte("ZZTEST")}},
		{{kind: mutDel, key: []byte("a")}, {kind: mutSet, key: []byte("c"), val: []byte("3"), expiresAt: 1 << 40}},
		{{kind: mutSet, key: []byte("b"), val: []byte("2")}},
	}
	for _, b := range batches {
		if err := j.append(b); err != nil {
			t.Fatal(err)
		}
	}
	whole := j.size
	// A fourth record cut short: only part of it reached the disk.
	if err := j.append([]mutation{{kind: mutSet, key: []byte("d"), val: []byte("4")}}); err != nil {
		t.Fatal(err)
	}
	if err := j.f.Truncate(whole + 10); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("ZZTEST")) {
		t.Fatal("journal holds message bytes in clear")
	}

	db := openTestBadger(t, t.TempDir())
	n, err := j.replay(db)
	if err != nil || n != 3 {
		t.Fatalf("replayed %d records (%v), want 3", n, err)
	}
	want := map[string]string{"b": "2", "c": "3"}
	err = db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get([]byte("a")); !errors.Is(err, badger.ErrKeyNotFound) {
			t.Errorf("a should be deleted: %v", err)
		}
		if _, err := txn.Get([]byte("d")); !errors.Is(err, badger.ErrKeyNotFound) {
			t.Errorf("torn record applied: %v", err)
		}
		for k, v := range want {
			item, err := txn.Get([]byte(k))
			if err != nil {
				return err
			}
			got, _ := item.ValueCopy(nil)
			if string(got) != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
			if k == "c" && item.ExpiresAt() != 1<<40 {
				t.Errorf("c lost its TTL: %d", item.ExpiresAt())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A journal opened with another key replays nothing (and fails nothing).
	other, err := openJournal(dir, bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := other.replay(openTestBadger(t, t.TempDir())); n != 0 || err != nil {
		t.Errorf("wrong key replayed %d (%v)", n, err)
	}
	if err := j.checkpoint(db, t.TempDir()); err != nil || j.size != 0 {
		t.Fatalf("checkpoint: %v, size %d", err, j.size)
	}
	if n, _ := j.replay(db); n != 0 {
		t.Errorf("after checkpoint the journal replays %d records", n)
	}
}

// TestIDsSurviveReopen checks IDs keep growing across Close/Open now that
// they come from the high-water mark rather than a Badger sequence.
func TestIDsSurviveReopen(t *testing.T) {
	cfg := testConfig(t.TempDir())
	var last ID
	for round := range 3 {
		s, err := Open(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			id, err := s.Commit(msg("c", "S", fmt.Sprintf("X%d-%d", round, i)), []string{"c/d"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if id <= last {
				t.Fatalf("round %d: id %d not above %d", round, id, last)
			}
			last = id
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
