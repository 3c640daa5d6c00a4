package store

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"
)

// oldMemTableSize is the memtable size stores were written with before
// badgerOptions bounded the table builders.
const oldMemTableSize = 16 << 20

// TestOpenAfterLargerMemtables: a store written with larger memtables and
// stopped uncleanly (SIGKILL, power cut) leaves memtable WAL files holding
// more than today's memtable arena can take, and Badger panics replaying
// them. Open must recover them instead: a helper process writes 10 MiB into
// a 16 MiB memtable and exits without closing; Open then succeeds and
// every key is there.
func TestOpenAfterLargerMemtables(t *testing.T) {
	const entries, size = 10_000, 1 << 10
	if dir := os.Getenv("IISYNC_STORE_OLD_MEMTABLES"); dir != "" {
		writeUncleanly(t, testConfig(dir), entries, size)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenAfterLargerMemtables$")
	cmd.Env = append(os.Environ(), "IISYNC_STORE_OLD_MEMTABLES="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	s := openTest(t, testConfig(dir), zerolog.Nop())
	err := s.db.View(func(txn *badger.Txn) error {
		for i := range entries {
			if _, err := txn.Get(fmt.Appendf(nil, "x/%06d", i)); err != nil {
				return fmt.Errorf("key %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after Open: %v", err)
	}
	if n := largestMemtableFile(testConfig(dir).Path); n > 2*memTableSize {
		t.Errorf("a %d-byte memtable file is left: every later Open replays it twice", n)
	}
}

// writeUncleanly writes entries into a Badger store with the old memtable
// size and exits the process without closing it.
func writeUncleanly(t *testing.T, cfg Config, entries, size int) {
	key, _, err := loadKey(cfg.KeyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(badgerOptions(cfg.WithDefaults(), key, zerolog.Nop()).WithMemTableSize(oldMemTableSize))
	if err != nil {
		t.Fatal(err)
	}
	val := make([]byte, size)
	for i := 0; i < entries; i += 100 {
		err := db.Update(func(txn *badger.Txn) error {
			for j := i; j < i+100; j++ {
				if err := txn.Set(fmt.Appendf(nil, "x/%06d", j), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	os.Exit(0) // no Close: the memtable stays in its WAL file
}
