package store

import (
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
// coalesced into one synced Badger transaction, so many committers share each
// disk sync instead of queueing for one sync each.
type Store struct {
	cfg Config
	log zerolog.Logger
	db  *badger.DB
	seq *badger.Sequence

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

// writerStats counts the writer's transactions, for benchmarks.
type writerStats struct {
	batches, ops, syncNanos atomic.Int64
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
	db, err := badger.Open(badgerOptions(cfg, key, log))
	clear(key)
	if err != nil {
		if errors.Is(err, badger.ErrEncryptionKeyMismatch) {
			return nil, fmt.Errorf("open %s: %w", cfg.Path, ErrKeyMismatch)
		}
		return nil, fmt.Errorf("store: open %s: %w", cfg.Path, err)
	}
	seq, err := db.GetSequence(seqKey, 1000)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: id sequence: %w", err)
	}
	s := &Store{
		cfg:        cfg,
		log:        log,
		db:         db,
		seq:        seq,
		ops:        make(chan *op, opQueue),
		stopWriter: make(chan struct{}),
		stopPruner: make(chan struct{}),
		writerDone: make(chan struct{}),
		depth:      make(map[string]*atomic.Int64),
		now:        time.Now,
	}
	if err := s.countQueues(); err != nil {
		_ = seq.Release()
		_ = db.Close()
		return nil, err
	}
	go s.writeLoop()
	return s, nil
}

// badgerOptions keeps Badger lean. Measured with BenchmarkRSS200k: the
// resident set is dominated by compaction's table builders (several in
// flight, each holding its table two or three times: raw, compressed,
// encrypted) and by memtable arenas, so tables and memtables are small:
// two 8 MiB memtables, 256 KiB base tables, a 4 MiB L1. The block and index
// caches share CacheMB (index cache is required with encryption). Values
// up to 1 MiB stay in the LSM tree, so the value log only takes outsized
// messages.
func badgerOptions(cfg Config, key []byte, log zerolog.Logger) badger.Options {
	cache := int64(cfg.CacheMB) << 20
	return badger.DefaultOptions(cfg.Path).
		WithSyncWrites(true).
		WithEncryptionKey(key).
		WithIndexCacheSize(cache / 4).
		WithBlockCacheSize(cache - cache/4).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(256 << 10).
		WithBaseLevelSize(4 << 20).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(1 << 20).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithCompression(options.Snappy).
		WithMetricsEnabled(false).
		WithLoggingLevel(badger.WARNING). // replaces the logger: keep it before WithLogger
		WithLogger(badgerLogger{log: log.With().Str("lib", "badger").Logger()})
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
// releases the unused IDs and closes Badger. Later calls return ErrClosed.
func (s *Store) Close() error {
	if s.closing.Swap(true) {
		return ErrClosed
	}
	s.pruneMu.Lock() // no pruner starts after this
	s.pruneMu.Unlock()
	close(s.stopPruner)
	s.pruners.Wait()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stopWriter)
	<-s.writerDone
	return errors.Join(s.seq.Release(), s.db.Close())
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
}

type queueDelta struct {
	dest string
	n    int64
}

func (st *opState) set(txn *badger.Txn, k, v []byte) error {
	st.dirty = true
	return txn.Set(k, v)
}

func (st *opState) setEntry(txn *badger.Txn, e *badger.Entry) error {
	st.dirty = true
	return txn.SetEntry(e)
}

func (st *opState) del(txn *badger.Txn, k []byte) error {
	st.dirty = true
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
	o := &op{fn: fn, done: make(chan error, 1)}
	s.ops <- o
	err := <-o.done
	return o.st.id, err
}

// Linger bounds for the group-commit writer.
const (
	minLinger = 100 * time.Microsecond
	maxLinger = time.Millisecond
)

// writeLoop is the group-commit writer: it takes every op waiting, runs them
// in one transaction and commits it with one sync. While Badger syncs, new
// ops queue up and form the next batch.
//
// Committers answered by one batch need a moment to come back with their
// next op, so without care the committers split into two groups that take
// turns, each paying for its own sync. The writer therefore expects as many
// ops as the previous batch answered plus those that queued while it
// synced, and waits for them, but never longer than half the last sync
// (within 100µs..1ms) after the previous batch: a lone committer or an idle
// store never waits.
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
			linger := min(max(lastSync/2, minLinger), maxLinger)
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
			o.st = opState{}
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
		err := txn.Commit()
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
