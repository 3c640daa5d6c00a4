package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// validStatus reports whether s is one of the Status constants.
func validStatus(s Status) bool {
	switch s {
	case StatusReceived, StatusFiltered, StatusQueued, StatusSent, StatusAccepted,
		StatusAcceptedWithWarnings, StatusRejected, StatusErrored, StatusDeadLettered:
		return true
	}
	return false
}

// rank orders final delivery outcomes from best to worst.
func rank(s Status) int {
	switch s {
	case StatusSent:
		return 1
	case StatusAccepted:
		return 2
	case StatusAcceptedWithWarnings:
		return 3
	case StatusRejected:
		return 4
	case StatusErrored:
		return 5
	case StatusDeadLettered:
		return 6
	}
	return 0
}

// deriveStatus computes a message's status from its deliveries: queued while
// any (non-return) delivery is queued, else the worst outcome. Return
// deliveries (the ACK back to the EHR) never make a message queued or sent;
// they count only when they failed (errored, dead_lettered), so a registry
// rejection stays findable as rejected while its return waits. Without
// deliveries the message keeps the status it was given.
func deriveStatus(given Status, ds []Delivery) Status {
	worst := Status("")
	for _, d := range ds {
		if d.Return && d.Status != StatusErrored && d.Status != StatusDeadLettered {
			continue
		}
		if d.Status == StatusQueued {
			return StatusQueued
		}
		if worst == "" || rank(d.Status) > rank(worst) {
			worst = d.Status
		}
	}
	if worst == "" || rank(worst) == 0 {
		if given == "" {
			return StatusReceived
		}
		return given
	}
	return worst
}

// indexKeys lists every index and time key of m.
func indexKeys(m *Message) [][]byte {
	keys := make([][]byte, 0, 10)
	keys = append(keys, indexKey(idxChannel, m.Channel, m.ID), indexKey(idxStatus, string(m.Status), m.ID), timeKey(m.Channel, m.ReceivedAt, m.ID))
	for _, kv := range [...]struct{ name, v string }{
		{idxControl, m.ControlID}, {idxSender, m.Sender}, {idxType, typeCode(m.Type)}, {idxPatient, m.PatientRef},
	} {
		if kv.v != "" {
			keys = append(keys, indexKey(kv.name, kv.v, m.ID))
		}
	}
	var seen []string
	for _, d := range m.Deliveries {
		if d.ACKCode != "" && !slices.Contains(seen, "a"+d.ACKCode) {
			seen = append(seen, "a"+d.ACKCode)
			keys = append(keys, indexKey(idxACK, d.ACKCode, m.ID))
		}
		for _, c := range d.ErrorCodes {
			if c != "" && !slices.Contains(seen, "e"+c) {
				seen = append(seen, "e"+c)
				keys = append(keys, indexKey(idxError, c, m.ID))
			}
		}
	}
	return keys
}

func containsKey(keys [][]byte, k []byte) bool {
	return slices.ContainsFunc(keys, func(x []byte) bool { return bytes.Equal(x, k) })
}

// loadRecord reads the record of id; ErrNotFound if there is none.
func loadRecord(txn *badger.Txn, id ID) (*Message, error) {
	item, err := txn.Get(recordKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	m := new(Message)
	if err := item.Value(func(v []byte) error { return decodeRecord(v, m) }); err != nil {
		return nil, err
	}
	return m, nil
}

// putRecord writes m (status re-derived) and moves its index entries from
// those of old (nil for a new record), all in txn.
func (st *opState) putRecord(txn *badger.Txn, old, m *Message) error {
	m.Status = deriveStatus(m.Status, m.Deliveries)
	if err := st.set(txn, recordKey(m.ID), encodeRecord(make([]byte, 0, 256), m)); err != nil {
		return err
	}
	newKeys := indexKeys(m)
	if old != nil {
		for _, k := range indexKeys(old) {
			if !containsKey(newKeys, k) {
				if err := st.del(txn, k); err != nil {
					return err
				}
			}
		}
		oldKeys := indexKeys(old)
		newKeys = slices.DeleteFunc(newKeys, func(k []byte) bool { return containsKey(oldKeys, k) })
	}
	for _, k := range newKeys {
		if err := st.set(txn, k, nil); err != nil {
			return err
		}
	}
	return nil
}

// delivery returns m's delivery to dest, appending an empty one if absent.
func delivery(m *Message, dest string) *Delivery {
	for i := range m.Deliveries {
		if m.Deliveries[i].Destination == dest {
			return &m.Deliveries[i]
		}
	}
	m.Deliveries = append(m.Deliveries, Delivery{Destination: dest})
	return &m.Deliveries[len(m.Deliveries)-1]
}

func cloneMessage(m *Message) *Message {
	c := *m
	c.Deliveries = slices.Clone(m.Deliveries)
	for i := range c.Deliveries {
		c.Deliveries[i].ErrorCodes = slices.Clone(c.Deliveries[i].ErrorCodes)
	}
	return &c
}

// Commit stores m and, in the same synced transaction, enqueues it for each
// destination with a queued Delivery. The deliveries m carries are kept only
// when they are already final (sent, accepted, accepted_with_warnings,
// rejected, errored), for destinations not in destinations — an outcome
// decided on receipt, such as a pre-flight validation rejection — with their
// Sent and Response bytes; queued ones are replaced. It assigns m.ID, sets
// m.ReceivedAt if zero and sets m.Status and m.Deliveries to what was
// stored. Without destinations or final deliveries m keeps m.Status
// (default received): filtered, errored or received.
//
// With dedupe > 0 and a non-empty ControlID, a message with the same
// Channel+Sender+ControlID committed within dedupe is not stored again:
// Commit returns the earlier ID and ErrDuplicate and leaves m unchanged.
// Errors: ErrInvalid, ErrDuplicate, ErrTooLarge, ErrWrite (nothing stored;
// answer AR), ErrClosed.
func (s *Store) Commit(m *Message, destinations []string, dedupe time.Duration) (ID, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: nil message", ErrInvalid)
	}
	if m.Channel == "" {
		return 0, fmt.Errorf("%w: empty channel", ErrInvalid)
	}
	if m.Status != "" && !validStatus(m.Status) {
		return 0, fmt.Errorf("%w: unknown status", ErrInvalid)
	}
	for i, d := range destinations {
		if d == "" || slices.Contains(destinations[:i], d) {
			return 0, fmt.Errorf("%w: destination %d empty or repeated", ErrInvalid, i)
		}
	}
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	now := s.now()
	rec := *m
	rec.ID = ID(s.lastID.Add(1)) // IDs start at 1; 0 means "none"
	if rec.ReceivedAt.IsZero() {
		rec.ReceivedAt = now
	}
	rec.Raw, rec.Transformed = nil, nil
	rec.ContentPruned = false
	rec.Deliveries = make([]Delivery, 0, len(destinations)+len(m.Deliveries))
	var carried []Delivery // final deliveries kept, with their bytes
	for _, d := range m.Deliveries {
		if rank(d.Status) == 0 || d.Status == StatusDeadLettered || d.Destination == "" ||
			slices.Contains(destinations, d.Destination) || slices.ContainsFunc(carried, func(c Delivery) bool { return c.Destination == d.Destination }) {
			continue
		}
		if d.SentAt.IsZero() {
			d.SentAt = now
		}
		carried = append(carried, d)
		meta := d
		meta.Sent, meta.Response, meta.ErrorCodes = nil, nil, slices.Clone(d.ErrorCodes)
		rec.Deliveries = append(rec.Deliveries, meta)
	}
	for _, d := range destinations {
		rec.Deliveries = append(rec.Deliveries, Delivery{Destination: d, Status: StatusQueued})
	}
	if len(destinations) == 0 && rec.Status == StatusQueued {
		rec.Status = StatusReceived
	}
	rec.Status = deriveStatus(rec.Status, rec.Deliveries)

	// Everything but the dedupe check is prepared here, outside the writer.
	type kv struct{ k, v []byte }
	entries := make([]kv, 0, 16)
	entries = append(entries, kv{recordKey(rec.ID), encodeRecord(make([]byte, 0, 256), &rec)})
	if m.Raw != nil {
		entries = append(entries, kv{contentKey(rec.ID, stageRaw, ""), m.Raw})
	}
	if m.Transformed != nil {
		entries = append(entries, kv{contentKey(rec.ID, stageTransformed, ""), m.Transformed})
	}
	for _, d := range carried {
		if d.Sent != nil {
			entries = append(entries, kv{contentKey(rec.ID, stageSent, d.Destination), d.Sent})
		}
		if d.Response != nil {
			entries = append(entries, kv{contentKey(rec.ID, stageResponse, d.Destination), d.Response})
		}
	}
	for _, k := range indexKeys(&rec) {
		entries = append(entries, kv{k, nil})
	}
	qv := encodeQueue(queueValue{PatientRef: rec.PatientRef, EnqueuedAt: now})
	for _, d := range destinations {
		entries = append(entries, kv{queueKey(d, rec.ID), qv})
	}
	var dk []byte
	if dedupe > 0 && rec.ControlID != "" {
		dk = dedupeKey(rec.Channel, rec.Sender, rec.ControlID)
	}

	id, err := s.submit(func(txn *badger.Txn, st *opState) error {
		if dk != nil {
			item, err := txn.Get(dk)
			switch {
			case err == nil:
				var prev ID
				var at time.Time
				var ok bool
				if err := item.Value(func(v []byte) error { prev, at, ok = decodeDedupe(v); return nil }); err != nil {
					return err
				}
				if ok && now.Sub(at) < dedupe {
					st.id = prev
					return ErrDuplicate
				}
			case !errors.Is(err, badger.ErrKeyNotFound):
				return err
			}
			// Round the TTL up: Badger expires at whole seconds.
			e := badger.NewEntry(dk, encodeDedupe(rec.ID, now)).WithTTL(dedupe + time.Second)
			if err := st.setEntry(txn, e); err != nil {
				return err
			}
		}
		for _, e := range entries {
			if err := st.set(txn, e.k, e.v); err != nil {
				return err
			}
		}
		for _, d := range destinations {
			st.deltas = append(st.deltas, queueDelta{d, 1})
		}
		st.id = rec.ID
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrDuplicate) {
			return id, err
		}
		return 0, err
	}
	m.ID, m.ReceivedAt, m.Status = rec.ID, rec.ReceivedAt, rec.Status
	m.Deliveries = rec.Deliveries
	m.ContentPruned = false
	return id, nil
}

// Get returns the full record of id with the bytes of every stage;
// ErrNotFound if it is not stored.
func (s *Store) Get(id ID) (*Message, error) { return s.load(id, true) }

// Meta returns the record of id without the bytes of its stages (Raw,
// Transformed, Sent and Response are nil): what a follower needs to decide
// whether it wants the message at all. ErrNotFound if it is not stored.
func (s *Store) Meta(id ID) (*Message, error) { return s.load(id, false) }

// load reads the record of id, and the bytes of its stages with content.
func (s *Store) load(id ID, content bool) (*Message, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var m *Message
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if m, err = loadRecord(txn, id); err != nil || !content {
			return err
		}
		return loadContent(txn, m)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("store: get: %w", err)
	}
	return m, nil
}

// loadContent fills the byte fields of m from its content keys.
func loadContent(txn *badger.Txn, m *Message) error {
	p := contentPrefix(m.ID)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: 8})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()[len(p):]
		if len(k) == 0 {
			continue
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if v == nil {
			v = []byte{}
		}
		stage, dest := k[0], string(k[1:])
		switch stage {
		case stageRaw:
			m.Raw = v
		case stageTransformed:
			m.Transformed = v
		case stageSent, stageResponse:
			for i := range m.Deliveries {
				if d := &m.Deliveries[i]; d.Destination == dest {
					if stage == stageSent {
						d.Sent = v
					} else {
						d.Response = v
					}
				}
			}
		}
	}
	return nil
}

// Pending lists the queued items of dest in ID order (due or not) with IDs
// above after, at most limit (default 100).
func (s *Store) Pending(dest string, after ID, limit int) ([]QueueItem, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	limit = pageSize(limit, 100, math.MaxInt)
	if after == maxID {
		return nil, nil
	}
	var items []QueueItem
	err := s.db.View(func(txn *badger.Txn) error {
		p := queuePrefix(dest)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: p, PrefetchValues: true, PrefetchSize: min(limit, 100)})
		defer it.Close()
		for it.Seek(putID(p, after+1)); it.Valid() && len(items) < limit; it.Next() {
			item := it.Item()
			var q queueValue
			if err := item.Value(func(v []byte) (err error) { q, err = decodeQueue(v); return err }); err != nil {
				return err
			}
			items = append(items, QueueItem{
				ID: idAtEnd(item.Key()), Destination: dest, PatientRef: q.PatientRef,
				Attempts: q.Attempts, NextAttempt: q.NextAttempt, EnqueuedAt: q.EnqueuedAt,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: pending: %w", err)
	}
	return items, nil
}

// update runs change on the record of id in a group-committed transaction
// and writes it back with its indexes moved.
func (s *Store) update(id ID, change func(txn *badger.Txn, st *opState, m *Message) error) error {
	_, err := s.write(func(txn *badger.Txn, st *opState) error {
		old, err := loadRecord(txn, id)
		if err != nil {
			return err
		}
		m := cloneMessage(old)
		if err := change(txn, st, m); err != nil {
			return err
		}
		return st.putRecord(txn, old, m)
	})
	return err
}

// Deliver records a delivery's final outcome d for dest (d.Status one of
// sent, accepted, accepted_with_warnings, rejected, errored; d.Destination
// is ignored), removes the queue item and updates the message status and
// indexes, in one synced transaction. If ret is non-nil it is enqueued in
// the same transaction as a Return delivery to ret.Destination whose Sent is
// ret.Payload; a message has one return per return destination, so a second
// one replaces the first. Errors: ErrNotFound (no such message), ErrInvalid,
// ErrWrite, ErrClosed.
func (s *Store) Deliver(id ID, dest string, d Delivery, ret *Outgoing) error {
	switch d.Status {
	case StatusSent, StatusAccepted, StatusAcceptedWithWarnings, StatusRejected, StatusErrored:
	default:
		return fmt.Errorf("%w: delivery status must be a final outcome", ErrInvalid)
	}
	if dest == "" || (ret != nil && (ret.Destination == "" || ret.Destination == dest)) {
		return fmt.Errorf("%w: empty or clashing destination", ErrInvalid)
	}
	now := s.now()
	return s.update(id, func(txn *badger.Txn, st *opState, m *Message) error {
		dl := delivery(m, dest)
		ret0 := dl.Return
		*dl = Delivery{
			Destination: dest, Status: d.Status, Attempts: d.Attempts, LastError: d.LastError,
			SentAt: d.SentAt, ACKCode: d.ACKCode, ErrorCodes: slices.Clone(d.ErrorCodes), Return: ret0,
		}
		if dl.SentAt.IsZero() {
			dl.SentAt = now
		}
		if err := st.dequeue(txn, dest, id); err != nil {
			return err
		}
		if !m.ContentPruned {
			if d.Sent != nil {
				if err := st.set(txn, contentKey(id, stageSent, dest), d.Sent); err != nil {
					return err
				}
			}
			if d.Response != nil {
				if err := st.set(txn, contentKey(id, stageResponse, dest), d.Response); err != nil {
					return err
				}
			}
		}
		if ret == nil {
			return nil
		}
		rd := delivery(m, ret.Destination)
		*rd = Delivery{Destination: ret.Destination, Status: StatusQueued, Return: true}
		if err := st.set(txn, contentKey(id, stageSent, ret.Destination), ret.Payload); err != nil {
			return err
		}
		if err := st.del(txn, contentKey(id, stageResponse, ret.Destination)); err != nil {
			return err
		}
		return st.enqueue(txn, ret.Destination, id, queueValue{PatientRef: m.PatientRef, EnqueuedAt: now})
	})
}

// Retry keeps the item of dest queued and records attempts, the next
// attempt time and the error (never PHI). ErrNotFound if the item is not
// queued (it was delivered, dead-lettered or pruned meanwhile).
func (s *Store) Retry(id ID, dest string, attempts int, next time.Time, lastErr string) error {
	return s.update(id, func(txn *badger.Txn, st *opState, m *Message) error {
		k := queueKey(dest, id)
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var q queueValue
		if err := item.Value(func(v []byte) (err error) { q, err = decodeQueue(v); return err }); err != nil {
			return err
		}
		q.Attempts, q.NextAttempt = attempts, next
		dl := delivery(m, dest)
		dl.Status, dl.Attempts, dl.NextAttempt, dl.LastError = StatusQueued, attempts, next, lastErr
		return st.set(txn, k, encodeQueue(q))
	})
}

// DeadLetter removes the item of dest from its queue and records the
// delivery as dead_lettered with attempts and the error (never PHI).
// ErrNotFound if the message is not stored.
func (s *Store) DeadLetter(id ID, dest string, attempts int, lastErr string) error {
	return s.update(id, func(txn *badger.Txn, st *opState, m *Message) error {
		dl := delivery(m, dest)
		dl.Status, dl.Attempts, dl.LastError, dl.NextAttempt = StatusDeadLettered, attempts, lastErr, time.Time{}
		return st.dequeue(txn, dest, id)
	})
}

// Requeue puts a stored message back on the queues of destinations
// (reprocess, resend): each delivery becomes queued with no attempts and
// no error. ErrNotFound if the message is not stored, ErrPruned if its
// bytes are gone.
func (s *Store) Requeue(id ID, destinations []string) error {
	for i, d := range destinations {
		if d == "" || slices.Contains(destinations[:i], d) {
			return fmt.Errorf("%w: destination %d empty or repeated", ErrInvalid, i)
		}
	}
	now := s.now()
	return s.update(id, func(txn *badger.Txn, st *opState, m *Message) error {
		if m.ContentPruned {
			return ErrPruned
		}
		for _, dest := range destinations {
			dl := delivery(m, dest)
			*dl = Delivery{Destination: dest, Status: StatusQueued, Return: dl.Return}
			if err := st.enqueue(txn, dest, id, queueValue{PatientRef: m.PatientRef, EnqueuedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
}
