package store

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

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
// checkpoints: Badger's logs are synced and the journal starts again. The
// writer checkpoints the same way whenever the journal outgrows
// journalCheckpointBytes.
//
// The file is reused, never truncated, so that an append only overwrites
// blocks the file already has and its sync has no size or block allocation
// to write. Its first journalBlock bytes are the header: two 512-byte
// slots, each holding a magic, an epoch and a CRC; the valid slot with the
// larger epoch is current. Records follow, each starting on a block
// boundary: a 4-byte length of what follows, a 12-byte nonce and the
// AES-GCM sealed mutations, with the epoch and the record's offset as
// additional data, then zeros to the next block. A checkpoint moves to the
// next epoch (written to the other slot, so a torn header write leaves the
// previous one) and starts again after the header; the records of earlier
// epochs left behind no longer open, and replay stops at the first record
// that does not open, which also catches a torn tail. The store key
// encrypts the journal as it does Badger's files.
//
// Where the file system allows it (Linux, not tmpfs before 6.6), records
// are written through an O_DIRECT|O_DSYNC descriptor: one write that is
// durable when it returns, without the page cache copy and the separate
// fdatasync (about 10% less time per journal write here). Elsewhere a
// record is written through the page cache and fdatasync'ed.
//
// Blocks ahead of the records are zero-filled before they are needed, by
// a background goroutine once less than journalPrealloc/2 is left (through
// the O_DIRECT descriptor too, so the zeros never sit in the page cache for
// a sync to flush). The writer fills blocks itself only when it outruns
// that goroutine.
//
// Journals written before the header existed (records from offset 0, no
// additional data) are replayed as they are; the checkpoint that follows
// rewrites the file in the current layout.
const (
	journalFile            = "journal.redo"
	journalCheckpointBytes = 64 << 20
	maxJournalRecord       = 256 << 20
	journalBlock           = 4096    // the header's size and the records' alignment (O_DIRECT)
	journalSlotSize        = 512     // one header slot: a sector, written whole or not at all
	journalPrealloc        = 4 << 20 // zero-filled blocks kept ahead of the records
)

// journalMagic opens each header slot.
var journalMagic = [8]byte{'i', 'i', 's', 'y', 'n', 'c', 'j', '2'}

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
	path   string
	f      *os.File
	aead   cipher.AEAD
	epoch  uint64 // records are sealed with it; 0 for a legacy journal
	size   int64  // end of the last record (writer goroutine only)
	buf    []byte // reused encoding buffer (writer goroutine only)
	out    []byte // reused block-aligned record buffer (writer goroutine only)
	stalls int    // fills the writer had to do itself (writer goroutine only)

	direct *os.File // O_DIRECT|O_DSYNC descriptor for records and fills; nil: use f (set at open, and by a legacy checkpoint)

	mu        sync.Mutex
	allocated int64         // bytes of the file written and synced (guarded by mu)
	filling   chan struct{} // closed when the background fill ends; nil when none runs (mu)
}

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
	j := &journal{path: p, f: f, aead: aead}
	if err := j.readHeader(); err != nil {
		_ = f.Close()
		return nil, err
	}
	if !j.legacy() {
		j.openDirect()
		j.fillAhead()
	}
	return j, nil
}

// openDirect opens the O_DIRECT descriptor and tries it by writing the
// header block back as it is; a file system that refuses leaves direct nil.
func (j *journal) openDirect() {
	d := openDirect(j.path)
	if d == nil {
		return
	}
	hdr := alignedZeros(journalBlock)
	if _, err := j.f.ReadAt(hdr, 0); err == nil {
		if _, err := d.WriteAt(hdr, 0); err == nil {
			j.direct = d
			return
		}
	}
	_ = d.Close()
}

// readHeader finds the current epoch, or starts a new file, or recognises
// a legacy journal.
func (j *journal) readHeader() error {
	fi, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	if fi.Size() == 0 {
		// A new journal: the header block, synced, with epoch 1.
		hdr := make([]byte, journalBlock)
		putSlot(hdr[journalSlotSize:], 1)
		if _, err := j.f.WriteAt(hdr, 0); err != nil {
			return fmt.Errorf("store: journal header: %w", err)
		}
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("store: journal header: %w", err)
		}
		j.epoch, j.size, j.allocated = 1, journalBlock, journalBlock
		return nil
	}
	var hdr [2 * journalSlotSize]byte
	if _, err := j.f.ReadAt(hdr[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("store: journal header: %w", err)
	}
	for i := range 2 {
		if e, ok := readSlot(hdr[i*journalSlotSize : (i+1)*journalSlotSize]); ok && e > j.epoch {
			j.epoch = e
		}
	}
	// Whole blocks only, so that fills stay aligned for O_DIRECT (a crash
	// in a page-cache fill can leave a partial one; records end on block
	// boundaries, so nothing intact lies in it).
	j.allocated = fi.Size() / journalBlock * journalBlock
	if j.epoch == 0 {
		j.size = 0 // a legacy journal: records from offset 0
		return nil
	}
	j.size = journalBlock
	return nil
}

// legacy reports whether the journal was written before the header
// existed (no valid slot): replay it, then checkpoint.
func (j *journal) legacy() bool { return j.epoch == 0 }

// putSlot writes a header slot for epoch into b.
func putSlot(b []byte, epoch uint64) {
	copy(b, journalMagic[:])
	binary.BigEndian.PutUint64(b[8:16], epoch)
	binary.BigEndian.PutUint32(b[16:20], crc32.ChecksumIEEE(b[:16]))
}

// readSlot returns the epoch of a valid header slot.
func readSlot(b []byte) (uint64, bool) {
	if !bytes.Equal(b[:8], journalMagic[:]) || binary.BigEndian.Uint32(b[16:20]) != crc32.ChecksumIEEE(b[:16]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[8:16]), true
}

// additionalData binds a record to its epoch and offset, so that records
// of an earlier epoch, or moved, do not open.
func additionalData(epoch uint64, offset int64) []byte {
	var ad [16]byte
	binary.BigEndian.PutUint64(ad[:8], epoch)
	binary.BigEndian.PutUint64(ad[8:], uint64(offset))
	return ad[:]
}

// append writes one record with the mutations and syncs it to disk.
func (j *journal) append(muts []mutation) error {
	if j.legacy() {
		return errors.New("store: journal: a legacy journal must be replayed and checkpointed first")
	}
	plain := encodeMutations(j.buf[:0], muts)
	j.buf = plain
	ns := j.aead.NonceSize()
	n := int(alignUp(int64(4 + ns + len(plain) + j.aead.Overhead())))
	if cap(j.out) < n {
		j.out = alignedZeros(max(n, 2*cap(j.out)))
	}
	rec := j.out[:4+ns]
	if _, err := rand.Read(rec[4:]); err != nil {
		return err
	}
	rec = j.aead.Seal(rec, rec[4:4+ns], plain, additionalData(j.epoch, j.size))
	binary.BigEndian.PutUint32(rec[:4], uint32(len(rec)-4))
	block := j.out[:n]
	clear(block[len(rec):])
	if err := j.reserve(int64(n)); err != nil {
		return err
	}
	if err := j.writeDurably(block, j.size); err != nil {
		return err
	}
	j.size += int64(n)
	j.fillAhead()
	return nil
}

// writeDurably writes b at off and returns once it is on disk.
func (j *journal) writeDurably(b []byte, off int64) error {
	if j.direct != nil {
		if _, err := j.direct.WriteAt(b, off); err != nil {
			return fmt.Errorf("journal write: %w", err)
		}
		return nil
	}
	if _, err := j.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("journal write: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		return fmt.Errorf("journal sync: %w", err)
	}
	return nil
}

// reserve makes sure n more bytes fit in the filled part of the file: it
// waits for a running background fill, then fills what is still missing.
func (j *journal) reserve(n int64) error {
	for {
		j.mu.Lock()
		if j.size+n <= j.allocated {
			j.mu.Unlock()
			return nil
		}
		running := j.filling
		from := j.allocated
		j.mu.Unlock()
		if running == nil {
			j.stalls++
			grow := alignUp(max(int64(journalPrealloc), j.size+n-from))
			if err := j.fill(from, grow); err != nil {
				return fmt.Errorf("journal preallocate: %w", err)
			}
			j.mu.Lock()
			j.allocated = from + grow
			j.mu.Unlock()
			return nil
		}
		<-running
	}
}

// fillAhead starts a background fill when less than half of
// journalPrealloc is left ahead of the records.
func (j *journal) fillAhead() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.filling != nil || j.allocated-j.size >= journalPrealloc/2 {
		return
	}
	from, done := j.allocated, make(chan struct{})
	j.filling = done
	go func() {
		defer close(done)
		err := j.fill(from, journalPrealloc)
		j.mu.Lock()
		defer j.mu.Unlock()
		if err == nil { // on error the writer fills synchronously and reports it
			j.allocated = from + journalPrealloc
		}
		j.filling = nil
	}()
}

// waitFill waits for a running background fill.
func (j *journal) waitFill() {
	j.mu.Lock()
	running := j.filling
	j.mu.Unlock()
	if running != nil {
		<-running
	}
}

// fill (one at a time) writes n zero bytes at off and makes them durable:
// through the O_DIRECT descriptor when there is one and the range is block
// aligned, else through the page cache and an fsync.
func (j *journal) fill(off, n int64) error {
	if j.direct != nil && off%journalBlock == 0 && n%journalBlock == 0 {
		return writeZeros(j.direct, off, n, true)
	}
	if err := writeZeros(j.f, off, n, false); err != nil {
		return err
	}
	return j.f.Sync()
}

// writeZeros writes n zero bytes at off in chunks; aligned chunks for
// O_DIRECT.
func writeZeros(f *os.File, off, n int64, aligned bool) error {
	const chunk = 1 << 20
	var zeros []byte
	if aligned {
		zeros = alignedZeros(chunk)
	} else {
		zeros = make([]byte, chunk)
	}
	for n > 0 {
		c := min(n, chunk)
		if _, err := f.WriteAt(zeros[:c], off); err != nil {
			return err
		}
		off, n = off+c, n-c
	}
	return nil
}

// alignedZeros returns n zero bytes starting at a block-aligned address.
func alignedZeros(n int) []byte {
	b := make([]byte, n+journalBlock)
	skip := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % journalBlock); r != 0 {
		skip = journalBlock - r
	}
	return b[skip : skip+n]
}

// alignUp rounds n up to a whole number of blocks.
func alignUp(n int64) int64 {
	return (n + journalBlock - 1) / journalBlock * journalBlock
}

// replay applies every intact record to db in order and reports how many
// it applied. The first record that does not open (a torn tail, a crash in
// the middle of an append, or a record of an earlier epoch) ends the
// replay; it was never acknowledged. Appends continue after the last
// intact record.
func (j *journal) replay(db *badger.DB) (int, error) {
	start := int64(journalBlock)
	if j.legacy() {
		start = 0
	}
	r := bufio.NewReaderSize(io.NewSectionReader(j.f, start, 1<<62), 1<<20)
	n, off := 0, start
	defer func() { j.size = off }()
	ns := j.aead.NonceSize()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n, nil // clean end or torn length
		}
		size := binary.BigEndian.Uint32(hdr[:])
		if size < uint32(ns+j.aead.Overhead()) || size > maxJournalRecord {
			return n, nil
		}
		rec := make([]byte, size)
		if _, err := io.ReadFull(r, rec); err != nil {
			return n, nil
		}
		var ad []byte
		if !j.legacy() {
			ad = additionalData(j.epoch, off)
		}
		plain, err := j.aead.Open(nil, rec[:ns], rec[ns:], ad)
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
		off += 4 + int64(size)
		if !j.legacy() { // skip the zeros to the next block
			pad := alignUp(off) - off
			if _, err := r.Discard(int(pad)); err != nil {
				return n, nil
			}
			off += pad
		}
	}
}

// encodeMutations appends the plaintext of a record holding muts to b:
// per mutation its kind, the key and the value each after a 4-byte length,
// and the 8-byte TTL deadline.
func encodeMutations(b []byte, muts []mutation) []byte {
	for _, m := range muts {
		b = append(b, m.kind)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m.key)))
		b = append(b, m.key...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m.val)))
		b = append(b, m.val...)
		b = binary.BigEndian.AppendUint64(b, m.expiresAt)
	}
	return b
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
// journal by moving to the next epoch. Badger's Sync covers the active
// memtable WAL and value log; memtables waiting to be flushed and older
// value logs have files of their own, which are fsynced here too (their
// pages were written through mmap). A legacy journal is rewritten in the
// current layout.
func (j *journal) checkpoint(db *badger.DB, dir string) error {
	if err := db.Sync(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if err := syncFilesWithSuffix(dir, ".mem", ".vlog"); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if j.legacy() {
		j.waitFill()
		if err := j.f.Truncate(0); err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		if err := j.readHeader(); err != nil { // an empty file: a new journal
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		j.openDirect()
		return nil
	}
	var slot [journalSlotSize]byte
	putSlot(slot[:], j.epoch+1)
	if _, err := j.f.WriteAt(slot[:], int64((j.epoch+1)%2)*journalSlotSize); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	j.epoch++
	j.size = journalBlock
	return nil
}

// used is how many bytes of records the journal holds.
func (j *journal) used() int64 { return max(j.size-journalBlock, 0) }

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

func (j *journal) close() error {
	j.waitFill()
	if j.direct != nil {
		_ = j.direct.Close()
	}
	return j.f.Close()
}
