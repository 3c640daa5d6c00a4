package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Search limits.
const (
	defaultLimit = 100
	maxLimit     = 1000
	// countCap bounds how many index keys Search counts per criterion when
	// it picks the index to drive from.
	countCap = 10_000
	// maxTypeCodes bounds the message codes a type prefix may expand to
	// before the type criterion is left to the record filter.
	maxTypeCodes = 64
)

// Search returns the messages matching every set field of q, newest (highest
// ID) first, at most q.Limit (default 100, at most 1000), with IDs below
// q.After when it is set. Byte fields are left nil. Time bounds are
// half-open: Since <= ReceivedAt < Until.
//
// Search finds the criterion with the fewest index entries below the page
// start (stepping all of them in turn until one runs out, up to a cap),
// compares it with the size of the time range, and walks the smallest
// newest first, checking every criterion on the record; with no indexed
// criterion it walks the records.
func (s *Store) Search(q Query) ([]Message, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	limit := pageSize(q.Limit, defaultLimit, maxLimit)
	top := maxID
	if q.After > 0 {
		if q.After == 1 {
			return nil, nil
		}
		top = q.After - 1
	}
	var out []Message
	err := s.db.View(func(txn *badger.Txn) error {
		ids, err := s.plan(txn, q, top)
		if err != nil {
			return err
		}
		defer ids.close()
		for len(out) < limit {
			id, ok := ids.next()
			if !ok {
				return nil
			}
			m, err := loadRecord(txn, id)
			if errors.Is(err, ErrNotFound) {
				continue // pruned between index and record
			}
			if err != nil {
				return err
			}
			if matches(m, &q) {
				out = append(out, *m)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return out, nil
}

// matches checks every criterion of q on the record m.
func matches(m *Message, q *Query) bool {
	switch {
	case q.Channel != "" && m.Channel != q.Channel,
		q.ControlID != "" && m.ControlID != q.ControlID,
		q.Sender != "" && m.Sender != q.Sender,
		q.Type != "" && !strings.HasPrefix(m.Type, q.Type),
		q.PatientRef != "" && m.PatientRef != q.PatientRef,
		q.Status != "" && m.Status != q.Status,
		!q.Since.IsZero() && m.ReceivedAt.Before(q.Since),
		!q.Until.IsZero() && !m.ReceivedAt.Before(q.Until):
		return false
	}
	if q.ACKCode != "" && !slices.ContainsFunc(m.Deliveries, func(d Delivery) bool { return d.ACKCode == q.ACKCode }) {
		return false
	}
	if q.ErrorCode != "" && !slices.ContainsFunc(m.Deliveries, func(d Delivery) bool { return slices.Contains(d.ErrorCodes, q.ErrorCode) }) {
		return false
	}
	return true
}

// idSource yields candidate IDs in descending order.
type idSource interface {
	next() (ID, bool)
	close()
}

// plan picks the cheapest source of candidate IDs at or below top.
func (s *Store) plan(txn *badger.Txn, q Query, top ID) (idSource, error) {
	var cands [][][]byte // each: the index prefixes of one criterion
	add := func(name, v string) {
		if v != "" {
			cands = append(cands, [][]byte{indexPrefix(name, v)})
		}
	}
	add(idxControl, q.ControlID)
	add(idxPatient, q.PatientRef)
	add(idxError, q.ErrorCode)
	add(idxSender, q.Sender)
	add(idxACK, q.ACKCode)
	if q.Type != "" {
		if ps := typePrefixes(txn, q.Type); ps != nil {
			cands = append(cands, ps)
		}
	}
	add(idxStatus, string(q.Status))
	add(idxChannel, q.Channel)

	// Step every candidate's iterator in turn: the first to run out is the
	// most selective, found at the cost of (candidates × its size) steps.
	best, bestN := -1, countCap+1
	timed := !q.Since.IsZero() || !q.Until.IsZero()
	switch {
	case len(cands) == 1 && !timed:
		best = 0
	case len(cands) > 0:
		srcs := make([]*indexSource, len(cands))
		for i, ps := range cands {
			srcs[i] = newIndexSource(txn, ps, top)
		}
	count:
		for n := 0; n <= countCap; n++ {
			for i, src := range srcs {
				if _, ok := src.next(); !ok {
					best, bestN = i, n
					break count
				}
			}
		}
		for _, src := range srcs {
			src.close()
		}
		if best < 0 {
			best = 0 // all large: take the first (most selective kind)
		}
	}
	if timed {
		if ids, ok := timeRange(txn, q, top, bestN); ok {
			return &sliceSource{ids: ids}, nil
		}
	}
	if best >= 0 {
		return newIndexSource(txn, cands[best], top), nil
	}
	return newRecordSource(txn, top), nil
}

// typePrefixes returns the type index prefixes a type prefix query can use,
// or nil to leave the type to the record filter.
func typePrefixes(txn *badger.Txn, t string) [][]byte {
	if strings.IndexByte(t, '^') >= 0 {
		return [][]byte{indexPrefix(idxType, typeCode(t))}
	}
	base := []byte(prefixIndex + idxType + "/")
	it := txn.NewIterator(badger.IteratorOptions{Prefix: base})
	defer it.Close()
	var out [][]byte
	for it.Seek(append(bytes.Clone(base), t...)); it.Valid(); {
		k := it.Item().Key()[len(base):]
		i := bytes.IndexByte(k, sep)
		if i < 0 || !bytes.HasPrefix(k[:i], []byte(t)) {
			break
		}
		if len(out) == maxTypeCodes {
			return nil
		}
		p := append(bytes.Clone(base), k[:i+1]...)
		out = append(out, p)
		it.Seek(append(bytes.Clone(p[:len(p)-1]), sep+1)) // next code
	}
	if out == nil {
		return [][]byte{indexPrefix(idxType, t)} // nothing matches: an empty source
	}
	return out
}

// timeRange collects the IDs at or below top received in q's time range
// (in q.Channel, or in every channel) if there are fewer than limit of
// them, newest first.
func timeRange(txn *badger.Txn, q Query, top ID, limit int) ([]ID, bool) {
	chans := []string{q.Channel}
	if q.Channel == "" {
		chans = listChannels(txn)
	}
	var ids []ID
	n := 0
	for _, ch := range chans {
		p := timePrefix(ch)
		var end []byte
		if !q.Until.IsZero() {
			end = timeKey(ch, q.Until, 0)
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p})
		for it.Seek(timeKey(ch, q.Since, 0)); it.Valid(); it.Next() {
			k := it.Item().Key()
			if end != nil && bytes.Compare(k, end) >= 0 {
				break
			}
			if len(k) != len(p)+16 {
				continue
			}
			if n++; n >= limit {
				it.Close()
				return nil, false
			}
			if id := idAtEnd(k); id <= top {
				ids = append(ids, id)
			}
		}
		it.Close()
	}
	slices.SortFunc(ids, cmpDesc)
	return ids, true
}

// listChannels lists the channels that have records, from the channel
// index, skipping from one channel to the next.
func listChannels(txn *badger.Txn) []string {
	var out []string
	base := []byte(prefixIndex + idxChannel + "/")
	it := txn.NewIterator(badger.IteratorOptions{Prefix: base})
	defer it.Close()
	for it.Rewind(); it.Valid(); {
		k := it.Item().Key()[len(base):]
		i := bytes.IndexByte(k, sep)
		if i < 0 {
			it.Next()
			continue
		}
		out = append(out, string(k[:i]))
		it.Seek(append(append(bytes.Clone(base), k[:i]...), sep+1))
	}
	return out
}

func cmpDesc(a, b ID) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

type sliceSource struct{ ids []ID }

func (s *sliceSource) next() (ID, bool) {
	if len(s.ids) == 0 {
		return 0, false
	}
	id := s.ids[0]
	s.ids = s.ids[1:]
	return id, true
}

func (*sliceSource) close() {}

// indexSource merges reverse key-only iterators over one or more index
// prefixes (one per value) into one descending ID stream.
type indexSource struct {
	its  []*badger.Iterator
	pfx  [][]byte
	last ID
}

func newIndexSource(txn *badger.Txn, prefixes [][]byte, top ID) *indexSource {
	s := &indexSource{pfx: prefixes, last: maxID}
	for _, p := range prefixes {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, Reverse: true})
		it.Seek(putID(bytes.Clone(p), top))
		s.its = append(s.its, it)
	}
	return s
}

func (s *indexSource) next() (ID, bool) {
	for {
		best := -1
		var bestID ID
		for i, it := range s.its {
			for it.Valid() && len(it.Item().Key()) != len(s.pfx[i])+8 {
				it.Next() // a longer value that shares the prefix
			}
			if !it.Valid() {
				continue
			}
			if id := idAtEnd(it.Item().Key()); best < 0 || id > bestID {
				best, bestID = i, id
			}
		}
		if best < 0 {
			return 0, false
		}
		s.its[best].Next()
		if bestID == s.last && s.last != maxID {
			continue
		}
		s.last = bestID
		return bestID, true
	}
}

func (s *indexSource) close() {
	for _, it := range s.its {
		it.Close()
	}
}

// recordSource walks the record keys downwards.
type recordSource struct{ it *badger.Iterator }

func newRecordSource(txn *badger.Txn, top ID) *recordSource {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixRecord), Reverse: true})
	it.Seek(recordKey(top))
	return &recordSource{it: it}
}

func (s *recordSource) next() (ID, bool) {
	if !s.it.Valid() {
		return 0, false
	}
	id := idAtEnd(s.it.Item().Key())
	s.it.Next()
	return id, true
}

func (s *recordSource) close() { s.it.Close() }
