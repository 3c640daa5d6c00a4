package store

import (
	"encoding/binary"
	"time"
)

// Records and queue items use a small versioned binary encoding: a version
// byte, then fields in a fixed order as uvarints and length-prefixed
// strings. It is several times smaller and faster than JSON or gob for
// these shapes (see BenchmarkCodec), and it holds no byte fields: message
// bytes live under content keys so that pruning them leaves the record.
const (
	recordVersion = 1
	queueVersion  = 1
)

// Record flags.
const (
	flagContentPruned = 1 << iota
)

// Delivery flags.
const (
	flagReturn = 1 << iota
)

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64)    { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int)        { e.b = binary.AppendVarint(e.b, int64(v)) }
func (e *encoder) str(s string)     { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) time(t time.Time) { e.uint(encodeTime(t)) }

// encodeTime maps the zero time to 0 and every other instant to its Unix
// nanoseconds plus one.
func encodeTime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return uint64(n) + 1
}

func decodeTime(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(v-1))
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *decoder) str() string {
	n := d.uint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time { return decodeTime(d.uint()) }

// encodeRecord appends m's metadata (everything but byte fields) to dst.
func encodeRecord(dst []byte, m *Message) []byte {
	e := encoder{b: append(dst, recordVersion)}
	e.uint(uint64(m.ID))
	e.str(m.Channel)
	e.str(m.Source)
	e.time(m.ReceivedAt)
	e.str(m.ControlID)
	e.str(m.Sender)
	e.str(m.Type)
	e.str(m.PatientRef)
	e.str(string(m.Status))
	e.str(m.ParseError)
	var flags uint64
	if m.ContentPruned {
		flags |= flagContentPruned
	}
	e.uint(flags)
	e.uint(uint64(len(m.Deliveries)))
	for i := range m.Deliveries {
		d := &m.Deliveries[i]
		e.str(d.Destination)
		e.str(string(d.Status))
		e.int(d.Attempts)
		e.str(d.LastError)
		e.time(d.NextAttempt)
		e.time(d.SentAt)
		e.str(d.ACKCode)
		e.uint(uint64(len(d.ErrorCodes)))
		for _, c := range d.ErrorCodes {
			e.str(c)
		}
		var df uint64
		if d.Return {
			df |= flagReturn
		}
		e.uint(df)
	}
	return e.b
}

// decodeRecord decodes a record into m; strings are copied out of b.
func decodeRecord(b []byte, m *Message) error {
	if len(b) == 0 || b[0] != recordVersion {
		return ErrCorrupt
	}
	d := decoder{b: b[1:]}
	m.ID = ID(d.uint())
	m.Channel = d.str()
	m.Source = d.str()
	m.ReceivedAt = d.time()
	m.ControlID = d.str()
	m.Sender = d.str()
	m.Type = d.str()
	m.PatientRef = d.str()
	m.Status = Status(d.str())
	m.ParseError = d.str()
	flags := d.uint()
	m.ContentPruned = flags&flagContentPruned != 0
	n := d.uint()
	if d.bad || n > uint64(len(d.b)) {
		return ErrCorrupt
	}
	m.Deliveries = nil
	if n > 0 {
		m.Deliveries = make([]Delivery, n)
	}
	for i := range m.Deliveries {
		dl := &m.Deliveries[i]
		dl.Destination = d.str()
		dl.Status = Status(d.str())
		dl.Attempts = d.int()
		dl.LastError = d.str()
		dl.NextAttempt = d.time()
		dl.SentAt = d.time()
		dl.ACKCode = d.str()
		nc := d.uint()
		if d.bad || nc > uint64(len(d.b)) {
			return ErrCorrupt
		}
		if nc > 0 {
			dl.ErrorCodes = make([]string, nc)
			for j := range dl.ErrorCodes {
				dl.ErrorCodes[j] = d.str()
			}
		}
		dl.Return = d.uint()&flagReturn != 0
	}
	if d.bad {
		return ErrCorrupt
	}
	return nil
}

// queueValue is what a queue key holds besides its destination and ID.
type queueValue struct {
	PatientRef  string
	Attempts    int
	NextAttempt time.Time
	EnqueuedAt  time.Time
}

func encodeQueue(q queueValue) []byte {
	e := encoder{b: make([]byte, 0, 32+len(q.PatientRef))}
	e.b = append(e.b, queueVersion)
	e.str(q.PatientRef)
	e.int(q.Attempts)
	e.time(q.NextAttempt)
	e.time(q.EnqueuedAt)
	return e.b
}

func decodeQueue(b []byte) (queueValue, error) {
	if len(b) == 0 || b[0] != queueVersion {
		return queueValue{}, ErrCorrupt
	}
	d := decoder{b: b[1:]}
	q := queueValue{PatientRef: d.str(), Attempts: d.int(), NextAttempt: d.time(), EnqueuedAt: d.time()}
	if d.bad {
		return queueValue{}, ErrCorrupt
	}
	return q, nil
}

// dedupeValue is the earlier message's ID and commit time.
func encodeDedupe(id ID, at time.Time) []byte {
	b := make([]byte, 0, 16)
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	return binary.BigEndian.AppendUint64(b, encodeTime(at))
}

func decodeDedupe(b []byte) (ID, time.Time, bool) {
	if len(b) != 16 {
		return 0, time.Time{}, false
	}
	return ID(binary.BigEndian.Uint64(b)), decodeTime(binary.BigEndian.Uint64(b[8:])), true
}
