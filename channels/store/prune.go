package store

import (
	"bytes"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// pruneBatch bounds the records one pruning transaction touches.
const pruneBatch = 128

// StartPruner starts the retention goroutine, which Close stops. It prunes
// once at once and then every Config.PruneInterval: for each channel, the
// bytes of messages older than its Retention.Content are deleted (the
// record stays, with ContentPruned set; messages still queued keep their
// bytes), and records older than Retention.Metadata are deleted with their
// index entries, queue items and bytes. retention may be nil, and zero
// fields of what it returns take Config.Retention's values. Work is done in
// transactions of at most 128 messages; afterwards Badger's value log is
// garbage-collected. Only the first call starts a pruner.
func (s *Store) StartPruner(retention func(channel string) Retention) {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	if s.closing.Load() || s.prunerStarted {
		return
	}
	s.prunerStarted = true
	s.pruners.Add(1)
	go func() {
		defer s.pruners.Done()
		t := time.NewTicker(s.cfg.PruneInterval)
		defer t.Stop()
		for {
			if _, err := s.prune(retention); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Warn().Err(err).Msg("prune failed")
			}
			select {
			case <-s.stopPruner:
				return
			case <-t.C:
			}
		}
	}()
}

// pruneStats counts what one pruning pass removed.
type pruneStats struct {
	Content, Records int
}

func (s *Store) stopping() bool {
	select {
	case <-s.stopPruner:
		return true
	default:
		return false
	}
}

// retentionFor resolves the retention of channel.
func (s *Store) retentionFor(ret func(string) Retention, channel string) Retention {
	var r Retention
	if ret != nil {
		r = ret(channel)
	}
	if r.Content <= 0 {
		r.Content = s.cfg.Retention.Content
	}
	if r.Metadata <= 0 {
		r.Metadata = max(s.cfg.Retention.Metadata, r.Content)
	}
	r.Metadata = max(r.Metadata, r.Content)
	return r
}

// prune runs one pruning pass over every channel.
func (s *Store) prune(ret func(string) Retention) (pruneStats, error) {
	var st pruneStats
	start := s.now()
	channels, err := s.channels()
	if err != nil {
		return st, err
	}
	for _, ch := range channels {
		r := s.retentionFor(ret, ch)
		now := s.now()
		n, err := s.pruneRecords(ch, now.Add(-r.Metadata))
		st.Records += n
		if err != nil {
			return st, err
		}
		n, err = s.pruneContent(ch, now.Add(-r.Content))
		st.Content += n
		if err != nil {
			return st, err
		}
	}
	if err := s.enter(); err != nil {
		return st, err
	}
	for range 16 {
		if s.stopping() || s.db.RunValueLogGC(0.5) != nil {
			break
		}
	}
	s.leave()
	ev := s.log.Debug()
	if st.Content+st.Records > 0 {
		ev = s.log.Info()
	}
	ev.Int("content", st.Content).Int("records", st.Records).Dur("took", s.now().Sub(start)).Msg("pruned")
	return st, nil
}

// channels lists the channels that have records.
func (s *Store) channels() ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []string
	err := s.db.View(func(txn *badger.Txn) error {
		out = listChannels(txn)
		return nil
	})
	return out, err
}

// scanOld walks channel's time index from just after the entry from (a
// 16-byte time+ID suffix; nil for the start) and returns up to pruneBatch
// IDs received before cut, oldest first, and the suffix of the last one.
// done reports that it reached cut or the end.
func (s *Store) scanOld(channel string, from []byte, cut time.Time) (ids []ID, last []byte, done bool, err error) {
	if err := s.enter(); err != nil {
		return nil, nil, true, err
	}
	defer s.leave()
	done = true
	end := timeKey(channel, cut, 0)
	err = s.db.View(func(txn *badger.Txn) error {
		p := timePrefix(channel)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		defer it.Close()
		it.Seek(append(bytes.Clone(p), from...))
		if it.Valid() && from != nil && bytes.Equal(it.Item().Key()[len(p):], from) {
			it.Next()
		}
		for ; it.Valid(); it.Next() {
			k := it.Item().Key()
			if bytes.Compare(k, end) >= 0 {
				return nil
			}
			if len(k) != len(p)+16 {
				continue
			}
			if len(ids) == pruneBatch {
				done = false
				return nil
			}
			ids = append(ids, idAtEnd(k))
			last = bytes.Clone(k[len(p):])
		}
		return nil
	})
	return ids, last, done, err
}

// pruneRecords deletes the records of channel received before cut.
func (s *Store) pruneRecords(channel string, cut time.Time) (int, error) {
	total := 0
	for !s.stopping() {
		ids, _, done, err := s.scanOld(channel, nil, cut)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		n := 0
		_, err = s.write(func(txn *badger.Txn, st *opState) error {
			n = 0
			return forRecords(txn, ids, func(m *Message) error {
				if !m.ReceivedAt.Before(cut) {
					return nil
				}
				n++
				return st.deleteMessage(txn, m)
			})
		})
		if err != nil {
			return total, err
		}
		total += n
		if done {
			break
		}
	}
	return total, nil
}

// deleteMessage deletes everything stored for m.
func (st *opState) deleteMessage(txn *badger.Txn, m *Message) error {
	for _, k := range indexKeys(m) {
		if err := st.del(txn, k); err != nil {
			return err
		}
	}
	if err := st.deleteContent(txn, m.ID); err != nil {
		return err
	}
	for _, d := range m.Deliveries {
		if err := st.dequeue(txn, d.Destination, m.ID); err != nil {
			return err
		}
	}
	if m.ControlID != "" {
		dk := dedupeKey(m.Channel, m.Sender, m.ControlID)
		item, err := txn.Get(dk)
		if err == nil {
			var prev ID
			_ = item.Value(func(v []byte) error { prev, _, _ = decodeDedupe(v); return nil })
			if prev == m.ID {
				if err := st.del(txn, dk); err != nil {
					return err
				}
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
	}
	return st.del(txn, recordKey(m.ID))
}

// deleteContent deletes every content key of id.
func (st *opState) deleteContent(txn *badger.Txn, id ID) error {
	var keys [][]byte
	it := txn.NewIterator(badger.IteratorOptions{Prefix: contentPrefix(id)})
	for it.Rewind(); it.Valid(); it.Next() {
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	it.Close()
	for _, k := range keys {
		if err := st.del(txn, k); err != nil {
			return err
		}
	}
	return nil
}

// pruneContent deletes the bytes of channel's messages received before cut,
// continuing from the channel's content cursor.
func (s *Store) pruneContent(channel string, cut time.Time) (int, error) {
	total := 0
	for !s.stopping() {
		cursor, err := s.cursor(channel)
		if err != nil {
			return total, err
		}
		ids, last, done, err := s.scanOld(channel, cursor, cut)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		n := 0
		_, err = s.write(func(txn *badger.Txn, st *opState) error {
			n = 0
			err := forRecords(txn, ids, func(old *Message) error {
				if old.ContentPruned || !old.ReceivedAt.Before(cut) || queued(old) {
					return nil
				}
				if err := st.deleteContent(txn, old.ID); err != nil {
					return err
				}
				m := cloneMessage(old)
				m.ContentPruned = true
				n++
				return st.putRecord(txn, old, m)
			})
			if err != nil {
				return err
			}
			return st.set(txn, cursorKey(channel), last)
		})
		if err != nil {
			return total, err
		}
		total += n
		if done {
			break
		}
	}
	return total, nil
}

// queued reports whether any delivery of m still waits.
func queued(m *Message) bool {
	for _, d := range m.Deliveries {
		if d.Status == StatusQueued {
			return true
		}
	}
	return false
}

// cursor reads where the content pruner stopped in channel: the time+ID
// suffix of the last time index entry it passed, or nil.
func (s *Store) cursor(channel string) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var c []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(cursorKey(channel))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		c, err = item.ValueCopy(nil)
		if len(c) != 16 {
			c = nil
		}
		return err
	})
	return c, err
}

// forRecords calls fn with the record of each of ids that still exists (a
// record pruned or deleted meanwhile is skipped), stopping at fn's first error.
func forRecords(txn *badger.Txn, ids []ID, fn func(m *Message) error) error {
	for _, id := range ids {
		m, err := loadRecord(txn, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}
