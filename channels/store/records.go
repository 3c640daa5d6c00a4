package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Records are small values other parts of the engine keep beside the
// messages, durably and encrypted like them, and untouched by retention: the
// Sync Registry's patient charts, registry links, sync sessions and audit
// trail. A record is named by a kind ("chart", "audit", ...) and a key;
// keys of one kind sort as bytes, so a caller that wants time order puts a
// fixed-width time in the key.
//
//	r/<kind>\x00<key>

// prefixNamed starts every record key (not to be confused with
// prefixRecord, the messages' metadata).
const prefixNamed = "r/"

// maxRecordName bounds a kind or a key: they are names, not content.
const maxRecordName = 512

// maxRecordPage bounds one page of Records or IDsAfter.
const maxRecordPage = 10000

// pageSize is the page a caller asked for: def when limit is not positive,
// at most most.
func pageSize(limit, def, most int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, most)
}

// Record is one named value.
type Record struct {
	Key   string
	Value []byte
}

func namedKey(kind, key string) ([]byte, error) {
	if kind == "" || strings.IndexByte(kind, sep) >= 0 || len(kind) > maxRecordName || len(key) > maxRecordName {
		return nil, fmt.Errorf("%w: record kind or key", ErrInvalid)
	}
	k := make([]byte, 0, len(prefixNamed)+len(kind)+1+len(key))
	k = append(k, prefixNamed...)
	k = append(k, kind...)
	k = append(k, sep)
	return append(k, key...), nil
}

// PutRecord stores val under kind and key, replacing what was there, and
// returns once it is on disk.
func (s *Store) PutRecord(kind, key string, val []byte) error {
	k, err := namedKey(kind, key)
	if err != nil {
		return err
	}
	v := bytes.Clone(val)
	if v == nil {
		v = []byte{}
	}
	_, err = s.write(func(txn *badger.Txn, st *opState) error { return st.set(txn, k, v) })
	if err != nil {
		return fmt.Errorf("%w: put record: %w", ErrWrite, err)
	}
	return nil
}

// DeleteRecord removes the record of kind and key; removing an absent
// record is not an error.
func (s *Store) DeleteRecord(kind, key string) error {
	k, err := namedKey(kind, key)
	if err != nil {
		return err
	}
	_, err = s.write(func(txn *badger.Txn, st *opState) error { return st.del(txn, k) })
	if err != nil {
		return fmt.Errorf("%w: delete record: %w", ErrWrite, err)
	}
	return nil
}

// GetRecord returns the value of kind and key, or ErrNotFound.
func (s *Store) GetRecord(kind, key string) ([]byte, error) {
	k, err := namedKey(kind, key)
	if err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var v []byte
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: get record: %w", err)
	}
	return v, nil
}

// Records lists the records of kind whose key starts with prefix, in key
// order, starting after the key after ("" = from the first), at most limit
// (default 100, at most 10,000).
func (s *Store) Records(kind, prefix, after string, limit int) ([]Record, error) {
	p, err := namedKey(kind, prefix)
	if err != nil {
		return nil, err
	}
	limit = pageSize(limit, 100, maxRecordPage)
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	base := len(p) - len(prefix)
	var out []Record
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		start := p
		if after != "" {
			start = append(append(bytes.Clone(p[:base]), after...), 0) // the smallest key above after
		}
		for it.Seek(start); it.Valid() && len(out) < limit; it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, Record{Key: string(item.Key()[base:]), Value: v})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list records: %w", err)
	}
	return out, nil
}

// IDsAfter returns the IDs of stored messages above after, in ascending
// order, at most limit (default 100, at most 10,000): a cursor for
// followers that process every message once (the Sync Registry's chart
// mirror).
func (s *Store) IDsAfter(after ID, limit int) ([]ID, error) {
	limit = pageSize(limit, 100, maxRecordPage)
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []ID
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixRecord)})
		defer it.Close()
		for it.Seek(recordKey(after + 1)); it.Valid() && len(out) < limit; it.Next() {
			if id := idAtEnd(it.Item().Key()); id > after {
				out = append(out, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: ids after: %w", err)
	}
	return out, nil
}
