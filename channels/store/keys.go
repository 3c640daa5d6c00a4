package store

import (
	"encoding/binary"
	"strings"
	"time"
)

// Key prefixes. See doc.go for the layout.
const (
	prefixRecord  = "m/"
	prefixContent = "c/"
	prefixQueue   = "q/"
	prefixIndex   = "i/"
	prefixTime    = "t/"
	prefixDedupe  = "d/"
	prefixCursor  = "p/"
)

// seqKey holds the ID high-water mark written at every checkpoint.
var seqKey = []byte("s/id")

// Index names inside "i/<name>/".
const (
	idxChannel = "ch"
	idxControl = "ctl"
	idxSender  = "snd"
	idxType    = "typ"
	idxPatient = "pat"
	idxStatus  = "st"
	idxACK     = "ack"
	idxError   = "err"
)

// Content stages: the byte after "c/<id>".
const (
	stageRaw         = 'r'
	stageTransformed = 'x'
	stageSent        = 's' // followed by the destination name
	stageResponse    = 'a' // followed by the destination name
)

// sep ends a variable-length component, so that "A" and "A/B" never share a
// prefix. Values in keys never contain it (they come from HL7 text).
const sep = 0

// maxKeyValue truncates a value inside a key. Searches always compare the
// full value on the record, so truncation costs only selectivity.
const maxKeyValue = 200

// maxID is the largest ID; seeking to it starts a reverse scan at the top.
const maxID = ID(1<<64 - 1)

func putID(b []byte, id ID) []byte { return binary.BigEndian.AppendUint64(b, uint64(id)) }

// idAtEnd reads the big-endian ID that ends every record, queue, index and
// time key.
func idAtEnd(k []byte) ID {
	if len(k) < 8 {
		return 0
	}
	return ID(binary.BigEndian.Uint64(k[len(k)-8:]))
}

func clip(v string) string {
	if len(v) > maxKeyValue {
		return v[:maxKeyValue]
	}
	return v
}

func recordKey(id ID) []byte { return putID([]byte(prefixRecord), id) }

func contentPrefix(id ID) []byte { return putID([]byte(prefixContent), id) }

func contentKey(id ID, stage byte, dest string) []byte {
	k := make([]byte, 0, len(prefixContent)+9+len(dest))
	k = append(k, prefixContent...)
	k = putID(k, id)
	k = append(k, stage)
	return append(k, dest...)
}

func queuePrefix(dest string) []byte {
	k := make([]byte, 0, len(prefixQueue)+len(dest)+9)
	k = append(k, prefixQueue...)
	k = append(k, dest...)
	return append(k, sep)
}

func queueKey(dest string, id ID) []byte { return putID(queuePrefix(dest), id) }

func indexPrefix(name, value string) []byte {
	value = clip(value)
	k := make([]byte, 0, len(prefixIndex)+len(name)+len(value)+10)
	k = append(k, prefixIndex...)
	k = append(k, name...)
	k = append(k, '/')
	k = append(k, value...)
	return append(k, sep)
}

func indexKey(name, value string, id ID) []byte { return putID(indexPrefix(name, value), id) }

func timeNanos(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

func timePrefix(channel string) []byte {
	channel = clip(channel)
	k := make([]byte, 0, len(prefixTime)+len(channel)+17)
	k = append(k, prefixTime...)
	k = append(k, channel...)
	return append(k, sep)
}

// timeKey is channel's time index entry; keys sort by receive time within
// a channel, so retention stops exactly at its cutoff.
func timeKey(channel string, t time.Time, id ID) []byte {
	k := binary.BigEndian.AppendUint64(timePrefix(channel), timeNanos(t))
	return putID(k, id)
}

func dedupeKey(channel, sender, controlID string) []byte {
	var b strings.Builder
	b.WriteString(prefixDedupe)
	b.WriteString(clip(channel))
	b.WriteByte(sep)
	b.WriteString(clip(sender))
	b.WriteByte(sep)
	b.WriteString(clip(controlID))
	return []byte(b.String())
}

func cursorKey(channel string) []byte { return []byte(prefixCursor + "content/" + channel) }

// typeCode is the message code of an MSH-9 wire text ("VXU" of
// "VXU^V04^VXU_V04"); the type index holds codes so that prefix searches
// stay in ID order.
func typeCode(t string) string {
	if i := strings.IndexByte(t, '^'); i >= 0 {
		return t[:i]
	}
	return t
}
