package store

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// The journal is the store's redo log and its durability point. Badger runs
// with SyncWrites off because, with it on, every Badger transaction pays two
// device flushes (value log and memtable WAL) even when the value log is
// untouched; the journal pays one. Each group-committed batch appends one
// record holding every mutation of the batch and fsyncs it before the
// Badger transaction commits, so an answer given to a caller is always on
// disk. Open replays the journal into Badger (mutations are absolute sets
// and deletes, so replaying ones Badger already has is harmless), then
// checkpoints: Badger's logs are synced and the journal starts empty. The
// writer checkpoints the same way whenever the journal outgrows
// journalCheckpointBytes.
//
// A record is: 4-byte length of what follows, 12-byte nonce, and the
// AES-GCM sealed mutations (the store key encrypts the journal as it does
// Badger's files, and GCM's tag makes a torn tail detectable: replay stops
// at the first record that does not open).
const (
	journalFile            = "journal.redo"
	journalCheckpointBytes = 64 << 20
	maxJournalRecord       = 256 << 20
)

// Mutation kinds in a journal record.
const (
	mutSet byte = 1
	mutDel byte = 2
)

// mutation is one write of a batch, recorded for the journal.
type mutation struct {
	kind      byte
	key, val  []byte
	expiresAt uint64 // Badger TTL deadline (unix seconds), 0 = none
}

type journal struct {
	path      string
	f         *os.File
	aead      cipher.AEAD
	size      int64  // bytes of records
	allocated int64  // bytes of the file written (records, then zeros)
	buf       []byte // reused encoding buffer (writer goroutine only)
}

// journalPrealloc is how far ahead of the records the file is filled with
// zeros, so an append overwrites allocated blocks and fdatasync has no
// file-size change to journal in the filesystem. Replay stops at the zeros.
const journalPrealloc = 4 << 20

// openJournal opens (creating) the journal in dir, encrypted under key.
func openJournal(dir string, key []byte) (*journal, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("store: journal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("store: journal cipher: %w", err)
	}
	p := filepath.Join(dir, journalFile)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: journal: %w", err)
	}
	return &journal{path: p, f: f, aead: aead}, nil
}

// append writes one record with the mutations and syncs it to disk.
func (j *journal) append(muts []mutation) error {
	plain := j.buf[:0]
	for _, m := range muts {
		plain = append(plain, m.kind)
		plain = binary.BigEndian.AppendUint32(plain, uint32(len(m.key)))
		plain = append(plain, m.key...)
		plain = binary.BigEndian.AppendUint32(plain, uint32(len(m.val)))
		plain = append(plain, m.val...)
		plain = binary.BigEndian.AppendUint64(plain, m.expiresAt)
	}
	j.buf = plain
	nonce := make([]byte, j.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	rec := make([]byte, 4, 4+len(nonce)+len(plain)+j.aead.Overhead())
	rec = append(rec, nonce...)
	rec = j.aead.Seal(rec, nonce, plain, nil)
	binary.BigEndian.PutUint32(rec[:4], uint32(len(rec)-4))
	if err := j.reserve(int64(len(rec))); err != nil {
		return err
	}
	if _, err := j.f.WriteAt(rec, j.size); err != nil {
		return fmt.Errorf("journal write: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		return fmt.Errorf("journal sync: %w", err)
	}
	j.size += int64(len(rec))
	return nil
}

// reserve makes sure n more bytes fit in the zero-filled part of the file.
func (j *journal) reserve(n int64) error {
	if j.size+n+4 <= j.allocated {
		return nil
	}
	grow := max(int64(journalPrealloc), n+4)
	if _, err := j.f.WriteAt(make([]byte, grow), j.allocated); err != nil {
		return fmt.Errorf("journal preallocate: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal preallocate: %w", err)
	}
	j.allocated += grow
	return nil
}

// replay applies every intact record to db in order and reports how many
// it applied. A torn or corrupt tail (a crash mid-append) ends the replay;
// that record was never acknowledged.
func (j *journal) replay(db *badger.DB) (int, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(j.f, 0, 1<<62), 1<<20)
	n := 0
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n, nil // clean end or torn length
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size < uint32(j.aead.NonceSize()+j.aead.Overhead()) || size > maxJournalRecord {
			return n, nil
		}
		rec := make([]byte, size)
		if _, err := io.ReadFull(r, rec); err != nil {
			return n, nil
		}
		ns := j.aead.NonceSize()
		plain, err := j.aead.Open(nil, rec[:ns], rec[ns:], nil)
		if err != nil {
			return n, nil
		}
		muts, err := decodeMutations(plain)
		if err != nil {
			return n, fmt.Errorf("store: journal record %d: %w", n+1, err)
		}
		if err := applyMutations(db, muts); err != nil {
			return n, fmt.Errorf("store: journal replay: %w", err)
		}
		n++
	}
}

func decodeMutations(b []byte) ([]mutation, error) {
	var muts []mutation
	for len(b) > 0 {
		if len(b) < 1+4 {
			return nil, ErrCorrupt
		}
		m := mutation{kind: b[0]}
		kl := binary.BigEndian.Uint32(b[1:5])
		b = b[5:]
		if uint32(len(b)) < kl+4 {
			return nil, ErrCorrupt
		}
		m.key, b = b[:kl], b[kl:]
		vl := binary.BigEndian.Uint32(b[:4])
		b = b[4:]
		if uint32(len(b)) < vl+8 {
			return nil, ErrCorrupt
		}
		m.val, b = b[:vl], b[vl:]
		m.expiresAt, b = binary.BigEndian.Uint64(b[:8]), b[8:]
		if m.kind != mutSet && m.kind != mutDel {
			return nil, ErrCorrupt
		}
		muts = append(muts, m)
	}
	return muts, nil
}

// applyMutations writes muts to db in order, in as many transactions as
// Badger's size limit needs.
func applyMutations(db *badger.DB, muts []mutation) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	for _, m := range muts {
		var err error
		if m.kind == mutDel {
			err = wb.Delete(m.key)
		} else {
			e := badger.NewEntry(m.key, m.val)
			e.ExpiresAt = m.expiresAt
			err = wb.SetEntry(e)
		}
		if err != nil {
			return err
		}
	}
	return wb.Flush()
}

// checkpoint makes everything Badger holds durable, then empties the
// journal. Badger's Sync covers the active memtable WAL and value log;
// memtables waiting to be flushed and older value logs have files of their
// own, which are fsynced here too (their pages were written through mmap).
func (j *journal) checkpoint(db *badger.DB, dir string) error {
	if err := db.Sync(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if err := syncFilesWithSuffix(dir, ".mem", ".vlog"); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	j.size, j.allocated = 0, 0
	return nil
}

// syncFilesWithSuffix fsyncs every file in dir whose name ends in one of
// the suffixes. A file that disappears meanwhile (a memtable flushed to a
// table, which Badger syncs itself) is skipped.
func syncFilesWithSuffix(dir string, suffixes ...string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		match := false
		for _, s := range suffixes {
			match = match || strings.HasSuffix(e.Name(), s)
		}
		if !match {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		_ = f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }
