package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// testJournalKey is the key of the journals in these tests.
var testJournalKey = bytes.Repeat([]byte{7}, 32)

// newTestJournal opens a journal in a directory of its own and returns it
// with the directory.
func newTestJournal(t *testing.T) (*journal, string) {
	t.Helper()
	dir := t.TempDir()
	j, err := openJournal(dir, testJournalKey)
	if err != nil {
		t.Fatal(err)
	}
	return j, dir
}

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
	j, dir := newTestJournal(t)
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
	if err := j.checkpoint(db, t.TempDir()); err != nil || j.used() != 0 {
		t.Fatalf("checkpoint: %v, %d bytes used", err, j.used())
	}
	if n, _ := j.replay(db); n != 0 {
		t.Errorf("after checkpoint the journal replays %d records", n)
	}
}

// appendAll appends each batch and fails the test on an error.
func appendAll(t *testing.T, j *journal, batches ...[]mutation) {
	t.Helper()
	for _, b := range batches {
		if err := j.append(b); err != nil {
			t.Fatal(err)
		}
	}
}

// set is a one-mutation batch.
func set(k, v string) []mutation { return []mutation{{kind: mutSet, key: []byte(k), val: []byte(v)}} }

// keysIn lists the keys of db with their values.
func keysIn(t *testing.T, db *badger.DB) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			got[string(it.Item().Key())] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestJournalEpochs: a checkpoint does not truncate the file, so the
// records of the previous epoch are still on disk after the new ones; they
// must not be replayed, neither by the journal that wrote them nor after a
// reopen. A torn header write falls back to the other slot.
func TestJournalEpochs(t *testing.T) {
	j, dir := newTestJournal(t)
	appendAll(t, j, set("old1", strings.Repeat("x", 500)), set("old2", "2"), set("old3", "3"))
	if err := j.checkpoint(openTestBadger(t, t.TempDir()), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	appendAll(t, j, set("new", "1"))
	db := openTestBadger(t, t.TempDir())
	if n, err := j.replay(db); n != 1 || err != nil {
		t.Fatalf("replayed %d records (%v), want 1", n, err)
	}
	if got := keysIn(t, db); len(got) != 1 || got["new"] != "1" {
		t.Fatalf("replayed %v, want only new=1", got)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}

	again, err := openJournal(dir, testJournalKey)
	if err != nil {
		t.Fatal(err)
	}
	if again.epoch != 2 || again.legacy() {
		t.Fatalf("reopened at epoch %d (legacy %v), want 2", again.epoch, again.legacy())
	}
	db = openTestBadger(t, t.TempDir())
	if n, err := again.replay(db); n != 1 || err != nil {
		t.Fatalf("reopened journal replayed %d (%v), want 1", n, err)
	}
	appendAll(t, again, set("after", "reopen"))
	if err := again.close(); err != nil {
		t.Fatal(err)
	}

	// Tear the current slot (epoch 2): the journal falls back to epoch 1,
	// whose first record was overwritten by epoch 2's, so nothing opens.
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	const epoch2Slot = 0 // slot = epoch % 2
	if _, err := f.WriteAt([]byte("torn"), epoch2Slot*journalSlotSize+10); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	torn, err := openJournal(dir, testJournalKey)
	if err != nil {
		t.Fatal(err)
	}
	defer torn.close()
	if torn.epoch != 1 {
		t.Fatalf("torn header: epoch %d, want the other slot's 1", torn.epoch)
	}
	if n, err := torn.replay(openTestBadger(t, t.TempDir())); n != 0 || err != nil {
		t.Fatalf("torn header replayed %d (%v), want 0", n, err)
	}
}

// TestJournalLegacy replays a journal in the layout before the header
// (records from offset 0, sealed without additional data) and rewrites it
// in the current layout at the checkpoint.
func TestJournalLegacy(t *testing.T) {
	j, dir := newTestJournal(t)
	var old []byte
	for _, b := range [][]mutation{set("a", "1"), set("b", "2")} {
		plain := encodeMutations(nil, b)
		nonce := make([]byte, 12)
		rec := j.aead.Seal(append([]byte{}, nonce...), nonce, plain, nil)
		old = binary.BigEndian.AppendUint32(old, uint32(len(rec)))
		old = append(old, rec...)
	}
	_ = j.close()
	if err := os.WriteFile(filepath.Join(dir, journalFile), old, 0o600); err != nil {
		t.Fatal(err)
	}

	j, err := openJournal(dir, testJournalKey)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if !j.legacy() {
		t.Fatal("a journal without a header is not recognised as legacy")
	}
	db := openTestBadger(t, t.TempDir())
	if n, err := j.replay(db); n != 2 || err != nil {
		t.Fatalf("legacy replay: %d records (%v), want 2", n, err)
	}
	if got := keysIn(t, db); got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("legacy replay gave %v", got)
	}
	if err := j.append(set("c", "3")); err == nil {
		t.Fatal("append to a legacy journal before its checkpoint succeeded")
	}
	if err := j.checkpoint(db, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if j.legacy() || j.epoch != 1 {
		t.Fatalf("after the checkpoint: legacy %v, epoch %d", j.legacy(), j.epoch)
	}
	appendAll(t, j, set("c", "3"))
	fresh := openTestBadger(t, t.TempDir())
	if n, err := j.replay(fresh); n != 1 || err != nil {
		t.Fatalf("rewritten journal replayed %d (%v), want 1", n, err)
	}
}

// TestJournalFillsAhead appends more than several fills' worth of records,
// through the O_DIRECT descriptor where the file system has one and through
// the page cache: the blocks ahead are always filled by the background
// goroutine in time (the writer never fills itself), every record replays,
// and a second lap after a checkpoint needs no new blocks.
func TestJournalFillsAhead(t *testing.T) {
	for _, direct := range []bool{true, false} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) { testFillsAhead(t, direct) })
	}
}

func testFillsAhead(t *testing.T, direct bool) {
	j, _ := newTestJournal(t)
	defer j.close()
	switch {
	case direct && j.direct == nil:
		t.Skip("this file system refuses O_DIRECT")
	case !direct && j.direct != nil:
		j.waitFill()
		_ = j.direct.Close()
		j.direct = nil
	}
	val := strings.Repeat("v", 64<<10)
	const n = 200 // about 12.8 MiB: three fills of journalPrealloc and more
	lap := func() {
		for i := range n {
			appendAll(t, j, set(fmt.Sprintf("k%03d", i), val))
			j.mu.Lock()
			short := j.size > j.allocated
			j.mu.Unlock()
			if short {
				t.Fatalf("record %d ends past the filled blocks", i)
			}
		}
	}
	lap()
	if j.stalls != 0 {
		t.Errorf("the writer filled blocks itself %d times", j.stalls)
	}
	db := openTestBadger(t, t.TempDir())
	if got, err := j.replay(db); got != n || err != nil {
		t.Fatalf("replayed %d (%v), want %d", got, err, n)
	}
	j.waitFill()
	fi, err := j.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.checkpoint(db, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	lap()
	j.waitFill()
	fi2, err := j.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi2.Size() != fi.Size() {
		t.Errorf("the second lap grew the file from %d to %d bytes", fi.Size(), fi2.Size())
	}
}

// TestIDsSurviveReopen checks IDs keep growing across Close/Open now that
// they come from the high-water mark rather than a Badger sequence.
func TestIDsSurviveReopen(t *testing.T) {
	cfg := testConfig(t.TempDir())
	var last ID
	for round := range 3 {
		s := openTest(t, cfg, zerolog.Nop())
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

// TestOpenRecoversFromJournal is the durability claim end to end through
// Open: a store whose Badger files are as they were at the last checkpoint
// (everything Badger had not synced since is lost, as after a power cut)
// but whose journal is the one written since, opens with every committed
// message back: record, raw bytes, indexes and queue items; new IDs go on
// above the recovered ones.
func TestOpenRecoversFromJournal(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	s := openTest(t, cfg, zerolog.Nop())
	before := mustCommit(t, s, msg("c", "S", "BEFORE"), "c/d")
	if err := s.Close(); err != nil { // checkpoint: Badger synced, journal empty
		t.Fatal(err)
	}
	// The disk as Badger left it at the checkpoint.
	lost := filepath.Join(dir, "at-checkpoint")
	if err := os.CopyFS(lost, os.DirFS(cfg.Path)); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, cfg, zerolog.Nop())
	var ids []ID
	for i := range 20 {
		ids = append(ids, mustCommit(t, s, msg("c", "S", fmt.Sprintf("AFTER%02d", i)), "c/d"))
	}
	// The journal as it is on disk now; Badger's files stay at the checkpoint.
	jr, err := os.ReadFile(filepath.Join(cfg.Path, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lost, journalFile), jr, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg.Path = lost
	r := openTest(t, cfg, zerolog.Nop())
	for i, id := range append([]ID{before}, ids...) {
		m, err := r.Get(id)
		if err != nil {
			t.Fatalf("message %d (id %d) not recovered: %v", i, id, err)
		}
		if len(m.Raw) == 0 || m.Status != StatusQueued {
			t.Errorf("id %d recovered with %d raw bytes, status %s", id, len(m.Raw), m.Status)
		}
	}
	found, err := r.Search(Query{ControlID: "AFTER07"})
	if err != nil || len(found) != 1 || found[0].ID != ids[7] {
		t.Fatalf("search by control ID after recovery: %v, %v", found, err)
	}
	if n, err := r.QueueDepth("c/d"); err != nil || n != len(ids)+1 {
		t.Fatalf("queue depth after recovery: %d (%v), want %d", n, err, len(ids)+1)
	}
	if id := mustCommit(t, r, msg("c", "S", "NEW"), "c/d"); id <= ids[len(ids)-1] {
		t.Fatalf("new id %d not above the recovered %d", id, ids[len(ids)-1])
	}
}
