package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"
)

// Batching limits of the group-commit writer.
const (
	maxBatchOps        = 256 // ops per Badger transaction
	opQueue            = 1024
	maxConflictRetries = 8
)

// Store is the engine's durable store. All methods are safe for concurrent
// use. Writes go through one group-commit writer: concurrent calls are
// coalesced into one Badger transaction whose journal record (journal.go) is
// synced before anyone is answered, so many committers share each disk sync
// instead of queueing for one sync each.
type Store struct {
	cfg Config
	log zerolog.Logger
	db  *badger.DB
	jr  *journal // redo log: the durability point (writer goroutine only after Open)

	// lastID is the highest ID handed out; Commit takes the next one.
	lastID         atomic.Uint64
	lastCheckpoint time.Time // writer goroutine only

	ops        chan *op      // to the writer
	stopWriter chan struct{} // closed by Close after every op has returned
	stopPruner chan struct{} // closed by Close before it waits for the pruner
	writerDone chan struct{}
	pruners    sync.WaitGroup
	closing    atomic.Bool

	// pruneMu orders StartPruner against Close.
	pruneMu       sync.Mutex
	prunerStarted bool

	// mu is held shared by every call that touches db and exclusively by
	// Close, so Close waits for calls in flight and later calls see closed.
	mu     sync.RWMutex
	closed bool

	// depthMu guards depth (the map, not the counters it holds).
	depthMu sync.Mutex
	depth   map[string]*atomic.Int64

	now func() time.Time // time source; tests replace it

	stats writerStats
}

// writerStats counts the writer's transactions (WriterStats, benchmarks).
type writerStats struct {
	batches, ops, syncNanos   atomic.Int64
	badgerNanos, journalNanos atomic.Int64 // the two halves of syncNanos, run side by side
}

// WriterStats are cumulative counters of the group-commit writer since Open.
// Ops per commit says how well concurrent callers share syncs.
type WriterStats struct {
	Commits     int64         // Badger transactions committed (each with one journal sync)
	Ops         int64         // calls (Commit, Deliver, Retry...) those transactions carried
	CommitTime  time.Duration // journal sync and Badger commit, which run side by side
	BadgerTime  time.Duration // the Badger half of CommitTime
	JournalTime time.Duration // the journal append + fdatasync half of CommitTime
}

// WriterStats returns the writer's counters. Safe to call at any time, also
// after Close.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{
		Commits: s.stats.batches.Load(), Ops: s.stats.ops.Load(),
		CommitTime:  time.Duration(s.stats.syncNanos.Load()),
		BadgerTime:  time.Duration(s.stats.badgerNanos.Load()),
		JournalTime: time.Duration(s.stats.journalNanos.Load()),
	}
}

// Open opens (creating if needed) the encrypted Badger store at cfg.Path
// after applying defaults and validating cfg. It reads or creates the key
// file, recovers the queue depths and starts the group-commit writer, which
// Close stops. log receives Badger's own warnings and the pruner's summary.
func Open(cfg Config, log zerolog.Logger) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = log.With().Str("component", "store").Logger()
	if err := os.MkdirAll(cfg.Path, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	if fi, err := os.Stat(cfg.Path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(cfg.Path, 0o700); err != nil {
			log.Warn().Err(err).Str("path", cfg.Path).Msg("data dir is readable by others")
		}
	}
	key, created, err := loadKey(cfg.KeyFile, cfg.CreateKey)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info().Str("key_file", cfg.KeyFile).Msg("created encryption key")
	} else if fi, err := os.Stat(cfg.KeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn().Str("key_file", cfg.KeyFile).Msg("key file is readable by others")
	}
	db, err := openBadger(badgerOptions(cfg, key, log))
	if err != nil {
		clear(key)
		if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
			return nil, fmt.Errorf("open %s: %w", cfg.Path, ErrKeyMismatch)
		}
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	jr, err := openJournal(cfg.Path, key)
	clear(key)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if n, err := jr.replay(db); err != nil {
		_ = jr.close()
		_ = db.Close()
		return nil, err
	} else if n > 0 {
		log.Info().Int("records", n).Msg("journal replayed")
	}
	if err := jr.checkpoint(db, cfg.Path); err != nil {
		_ = jr.close()
		_ = db.Close()
		return nil, err
	}
	last, err := highestID(db)
	if err != nil {
		_ = jr.close()
		_ = db.Close()
		return nil, err
	}
	s := &Store{
		cfg:        cfg,
		log:        log,
		db:         db,
		jr:         jr,
		ops:        make(chan *op, opQueue),
		stopWriter: make(chan struct{}),
		stopPruner: make(chan struct{}),
		writerDone: make(chan struct{}),
		depth:      make(map[string]*atomic.Int64),
		now:        time.Now,
	}
	s.lastID.Store(last)
	s.lastCheckpoint = time.Now()
	if err := s.countQueues(); err != nil {
		_ = jr.close()
		_ = db.Close()
		return nil, err
	}
	go s.writeLoop()
	return s, nil
}

// badgerOptions keeps Badger lean, and bounded as the store grows.
//
// Badger builds every table in memory (blocks, their compressed and their
// encrypted copies) with allocators that grow by doubling, and keeps up to
// eight of them for reuse while it is busy. Without jemalloc those are Go
// heap, so they hold the heap at about eight of the largest table builds:
// an L0 table is a whole memtable, and with the default TableSizeMultiplier
// of 2 every deeper level doubles its table size. With 16 MiB memtables the
// live heap reached serve's 256 MiB soft limit after about 100,000 stored
// messages and the collector ran continuously: ingest fell from ~5,000 to
// ~2,000 msgs/s at 550-800 µs of CPU per message (docs/BENCHMARKS.md, "The
// store as it grows"). So memtables are 4 MiB and every table below L0 is
// 1 MiB (TableSizeMultiplier 1): the live heap then stays near 130 MB
// through 200,000 messages (220 MB with 2 MiB tables). Eight L0 tables
// trigger a compaction: each then moves 32 MiB into the 16 MiB base level,
// which it rewrites anyway, and past 100,000 messages that cost 12 – 20%
// less CPU per message than compacting at four. (256 KiB tables, tried
// earlier, made compaction churn too much.)
//
// Badger caps a transaction at 15% of a memtable (about 600 KiB here), and
// one message's op carries its raw, transformed, sent and response bytes:
// values from 64 KiB on go to the value log as pointers, so an op stays far
// below the cap whatever the message size; the pruner garbage-collects the
// value log. The block and index caches share CacheMB (index cache is
// required with encryption).
func badgerOptions(cfg Config, key []byte, log zerolog.Logger) badger.Options {
	cache := int64(cfg.CacheMB) << 20
	opt := badger.DefaultOptions(cfg.Path).
		WithSyncWrites(false).      // the journal is the durability point (journal.go)
		WithDetectConflicts(false). // one writer goroutine: nothing to conflict with
		WithEncryptionKey(key).
		WithIndexCacheSize(cache / 4).
		WithBlockCacheSize(cache - cache/4).
		WithMemTableSize(memTableSize).
		WithNumMemtables(2).
		WithNumLevelZeroTables(8).
		WithNumLevelZeroTablesStall(16).
		WithBaseTableSize(1 << 20).
		WithBaseLevelSize(16 << 20).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(valueThreshold).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithCompression(options.Snappy).
		WithMetricsEnabled(false).
		WithLoggingLevel(badger.WARNING). // replaces the logger: keep it before WithLogger
		WithLogger(badgerLogger{log: log.With().Str("lib", "badger").Logger()})
	opt.TableSizeMultiplier = 1 // no With method in v4.9.6
	return opt
}

// Memtable size and the size from which values go to the value log (see
// badgerOptions).
const (
	memTableSize   = 4 << 20
	valueThreshold = 64 << 10
)

// openBadger opens Badger. After an unclean stop its memtable WAL files
// (*.mem, twice the memtable size they were created with) are replayed into
// arenas of today's memtable size, and Badger panics when one does not fit:
// a store written before the memtables shrank to 4 MiB (16 MiB then) and
// killed would never open again. Such files are first replayed under the
// size they were written with and flushed to tables by a clean close.
func openBadger(opt badger.Options) (*badger.DB, error) {
	if written := largestMemtableFile(opt.Dir) / 2; written > opt.MemTableSize {
		db, err := badger.Open(opt.WithMemTableSize(written))
		if err != nil {
			return nil, err
		}
		if err := db.Close(); err != nil {
			return nil, err
		}
	}
	return badger.Open(opt)
}

// largestMemtableFile is the size of the largest memtable WAL file in dir.
func largestMemtableFile(dir string) int64 {
	entries, _ := os.ReadDir(dir) // a missing dir has none
	var largest int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	return largest
}

// badgerLogger passes Badger's warnings and errors to zerolog. Badger logs
// file names, sizes and keys at most; keys hold only the fields the style
// guide allows in logs (control_id, sender, msg_type, patient_ref), never
// message bytes.
type badgerLogger struct{ log zerolog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) {
	l.log.Error().Str("detail", strings.TrimSpace(fmt.Sprintf(f, a...))).Msg("badger")
}

func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn().Str("detail", strings.TrimSpace(fmt.Sprintf(f, a...))).Msg("badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// Close stops the pruner and the writer after the calls in flight return,
// checkpoints the journal and closes Badger. Later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closing.Swap(true) {
		return ErrClosed
	}
	// Taking pruneMu once orders Close after any StartPruner in progress;
	// StartPruner checks closing under it, so no pruner starts after this.
	s.pruneMu.Lock()
	//lint:ignore SA2001 the lock is the barrier, nothing is guarded here
	s.pruneMu.Unlock()
	close(s.stopPruner)
	s.pruners.Wait()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stopWriter)
	<-s.writerDone
	return errors.Join(s.checkpoint(), s.db.Close(), s.jr.close())
}

// enter marks a call in flight; it reports ErrClosed after Close began.
func (s *Store) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

// counter returns the depth counter of dest, creating it.
func (s *Store) counter(dest string) *atomic.Int64 {
	s.depthMu.Lock()
	defer s.depthMu.Unlock()
	c := s.depth[dest]
	if c == nil {
		c = new(atomic.Int64)
		s.depth[dest] = c
	}
	return c
}

// countQueues sets the depth counters from the queue keys, once at Open.
func (s *Store) countQueues() error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixQueue)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) < len(prefixQueue)+9 {
				continue
			}
			dest := string(k[len(prefixQueue) : len(k)-9])
			s.counter(dest).Add(1)
		}
		return nil
	})
}

// QueueDepth returns how many items wait for dest, due or not. It reads an
// in-memory counter kept exact by the writer, so it is cheap enough to call
// for every metrics scrape.
func (s *Store) QueueDepth(dest string) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	s.depthMu.Lock()
	c := s.depth[dest]
	s.depthMu.Unlock()
	if c == nil {
		return 0, nil
	}
	return int(c.Load()), nil
}

// An op is one call's share of a group-committed transaction. fn does its
// reads and checks first and writes only through st (which marks the op
// dirty), so an op that fails before writing leaves the transaction usable
// for the others. fn may run several times (conflict retries, splits), so it
// keeps all its effects in st, which is reset before each run.
type op struct {
	fn       func(txn *badger.Txn, st *opState) error
	st       opState
	err      error
	answered bool
	done     chan error
}

// opState collects what an op did in the current run.
type opState struct {
	dirty  bool
	id     ID
	deltas []queueDelta
	muts   []mutation // for the journal
}

type queueDelta struct {
	dest string
	n    int64
}

func (st *opState) set(txn *badger.Txn, k, v []byte) error {
	st.dirty = true
	st.muts = append(st.muts, mutation{kind: mutSet, key: k, val: v})
	return txn.Set(k, v)
}

func (st *opState) setEntry(txn *badger.Txn, e *badger.Entry) error {
	st.dirty = true
	st.muts = append(st.muts, mutation{kind: mutSet, key: e.Key, val: e.Value, expiresAt: e.ExpiresAt})
	return txn.SetEntry(e)
}

func (st *opState) del(txn *badger.Txn, k []byte) error {
	st.dirty = true
	st.muts = append(st.muts, mutation{kind: mutDel, key: k})
	return txn.Delete(k)
}

// enqueue writes the queue item of dest for id, counting it if it is new.
func (st *opState) enqueue(txn *badger.Txn, dest string, id ID, q queueValue) error {
	k := queueKey(dest, id)
	_, err := txn.Get(k)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		st.deltas = append(st.deltas, queueDelta{dest, 1})
	case err != nil:
		return err
	}
	return st.set(txn, k, encodeQueue(q))
}

// dequeue deletes the queue item of dest for id if it exists.
func (st *opState) dequeue(txn *badger.Txn, dest string, id ID) error {
	k := queueKey(dest, id)
	_, err := txn.Get(k)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil
	case err != nil:
		return err
	}
	st.deltas = append(st.deltas, queueDelta{dest, -1})
	return st.del(txn, k)
}

// write runs fn in the writer's next group-committed transaction and
// returns its error and the ID it reported.
func (s *Store) write(fn func(txn *badger.Txn, st *opState) error) (ID, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	return s.submit(fn)
}

// submit is write for a caller that already entered. (Entering twice could
// deadlock against a waiting Close.)
func (s *Store) submit(fn func(txn *badger.Txn, st *opState) error) (ID, error) {
	// Room for a Commit's mutations (record, raw, indexes, queue, dedupe)
	// without regrowing.
	o := &op{fn: fn, done: make(chan error, 1), st: opState{muts: make([]mutation, 0, 16)}}
	s.ops <- o
	err := <-o.done
	return o.st.id, err
}

// Linger bounds for the group-commit writer.
const (
	minLinger = 100 * time.Microsecond
	maxLinger = 2 * time.Millisecond
)

// writeLoop is the group-commit writer: it takes every op waiting, runs them
// in one transaction and commits it with one sync. While Badger syncs, new
// ops queue up and form the next batch.
//
// Committers answered by one batch need a moment to come back with their
// next op, so without care the committers split into two groups that take
// turns, each paying for its own sync. The writer therefore expects as many
// ops as the previous batch answered plus those that queued while it
// synced, and waits for them, but never longer than the last sync took
// (within 100µs..2ms) after the previous batch: a lone committer or an idle
// store never waits. Waiting up to a whole sync pays: a committer that
// misses the batch waits about that long for the next one anyway, and every
// extra batch costs a sync and Badger's per-transaction work. (Half a sync,
// measured against a whole one with 8 MLLP connections on 2 cores: 7.6
// operations per batch instead of 5.7, 12% less CPU per message and 10–20%
// more messages per second.)
func (s *Store) writeLoop() {
	defer close(s.writerDone)
	batch := make([]*op, 0, maxBatchOps)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		prevDone time.Time
		lastSync time.Duration
		expect   int
	)
	for {
		select {
		case o := <-s.ops:
			batch = append(batch[:0], o)
		case <-s.stopWriter:
			return
		}
	fill:
		for len(batch) < maxBatchOps {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		if len(batch) < expect {
			linger := min(max(lastSync, minLinger), maxLinger)
			if d := time.Until(prevDone.Add(linger)); d > 0 {
				timer.Reset(d)
			wait:
				for len(batch) < expect && len(batch) < maxBatchOps {
					select {
					case o := <-s.ops:
						batch = append(batch, o)
					case <-timer.C:
						break wait
					}
				}
				timer.Stop()
			}
		}
		start := time.Now()
		for rest := batch; len(rest) > 0; {
			rest = rest[s.commitBatch(rest):]
		}
		s.maybeCheckpoint()
		prevDone = time.Now()
		lastSync = prevDone.Sub(start)
		expect = len(batch) + len(s.ops)
		clear(batch)
	}
}

func (o *op) finish(err error) {
	o.answered = true
	o.done <- err
}

// commitBatch commits a prefix of batch in one transaction, answers every op
// in that prefix and returns its length. An op that fails after writing is
// answered alone and the rest rerun; when the transaction grows too big the
// batch is cut before the op that overflowed it.
func (s *Store) commitBatch(batch []*op) int {
	n := len(batch)
	conflicts := 0
retry:
	for {
		txn := s.db.NewTransaction(true)
		for i := 0; i < n; i++ {
			o := batch[i]
			if o.answered {
				continue
			}
			o.st = opState{muts: o.st.muts[:0]} // a rerun starts afresh, keeping the room
			o.err = o.fn(txn, &o.st)
			if o.err == nil || !o.st.dirty {
				continue
			}
			txn.Discard()
			if errors.Is(o.err, badger.ErrTxnTooBig) {
				if liveBefore(batch[:i]) {
					n = i
					continue retry
				}
				o.finish(fmt.Errorf("%w: %w", ErrTooLarge, o.err))
				continue retry
			}
			o.finish(fmt.Errorf("%w: %w", ErrWrite, o.err))
			continue retry
		}
		t0 := time.Now()
		// The journal record is the commit point: once it is synced the
		// batch survives a crash, and only then is anyone answered.
		total := 0
		for _, o := range batch[:n] {
			total += len(o.st.muts)
		}
		muts := make([]mutation, 0, total)
		for _, o := range batch[:n] {
			if !o.answered && o.err == nil {
				muts = append(muts, o.st.muts...)
			}
		}
		// Journal sync and Badger commit run side by side: nobody is answered
		// until both are done, and a Badger commit whose journal record failed
		// is harmless (the callers are told it failed and send again; dedupe
		// absorbs the copy).
		var jerr error
		jdone := make(chan struct{})
		go func() {
			defer close(jdone)
			if len(muts) > 0 {
				jerr = s.jr.append(muts)
			}
			s.stats.journalNanos.Add(int64(time.Since(t0)))
		}()
		err := txn.Commit()
		s.stats.badgerNanos.Add(int64(time.Since(t0)))
		<-jdone
		if err == nil {
			err = jerr
		}
		s.stats.batches.Add(1)
		s.stats.ops.Add(int64(n))
		s.stats.syncNanos.Add(int64(time.Since(t0)))
		if errors.Is(err, badger.ErrConflict) && conflicts < maxConflictRetries {
			conflicts++
			continue
		}
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrWrite, err)
		}
		for _, o := range batch[:n] {
			if o.answered {
				continue
			}
			switch {
			case o.err != nil: // failed before writing: its answer stands
				o.finish(o.err)
			case err != nil:
				o.finish(err)
			default:
				for _, d := range o.st.deltas {
					s.counter(d.dest).Add(d.n)
				}
				o.finish(nil)
			}
		}
		return n
	}
}

func liveBefore(ops []*op) bool {
	for _, o := range ops {
		if !o.answered {
			return true
		}
	}
	return false
}

// Checkpoint triggers: journal size, or age while it holds anything.
const checkpointEvery = 5 * time.Minute

// maybeCheckpoint checkpoints from the writer goroutine when the journal
// is big or old. A failed checkpoint only lets the journal grow: nothing
// acknowledged depends on it.
func (s *Store) maybeCheckpoint() {
	if used := s.jr.used(); used < journalCheckpointBytes && (used == 0 || time.Since(s.lastCheckpoint) < checkpointEvery) {
		return
	}
	if err := s.checkpoint(); err != nil {
		s.log.Error().Err(err).Msg("checkpoint failed")
	}
}

// checkpoint records the ID high-water mark, makes Badger durable and
// empties the journal. Writer goroutine (or Close, after the writer ended).
func (s *Store) checkpoint() error {
	var hw [8]byte
	binary.BigEndian.PutUint64(hw[:], s.lastID.Load())
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(seqKey, hw[:]) }); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	s.lastCheckpoint = time.Now()
	return s.jr.checkpoint(s.db, s.cfg.Path)
}

// highestID is the largest ID ever handed out as far as the database knows:
// the high-water mark of the last checkpoint, or the newest message record
// if one is newer (messages replayed from the journal).
func highestID(db *badger.DB) (uint64, error) {
	var last uint64
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(seqKey)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			if err := item.Value(func(v []byte) error {
				if len(v) == 8 {
					last = binary.BigEndian.Uint64(v)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		opts := badger.DefaultIteratorOptions
		opts.Reverse, opts.PrefetchValues = true, false
		it := txn.NewIterator(opts)
		defer it.Close()
		prefix := []byte(prefixRecord)
		it.Seek(append([]byte(prefixRecord), 0xff))
		if it.ValidForPrefix(prefix) && len(it.Item().Key()) == len(prefix)+8 {
			if id := idAtEnd(it.Item().Key()); uint64(id) > last {
				last = uint64(id)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: read id high-water mark: %w", err)
	}
	return last, nil
}
