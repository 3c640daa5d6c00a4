// Package store is the engine's durable store and the only importer of
// Badger: every message with its stages (raw, transformed, sent, response),
// its status lifecycle, search indexes, per-destination queues that survive
// restarts, dead letters, and retention. It imports Badger, zerolog and
// conf/field only.
//
// # Durability and group commit
//
// A call returns only after its writes are on disk. Every write goes
// through one writer goroutine that takes all calls waiting and runs them
// in one Badger transaction (group commit): concurrent callers share a sync
// and are never serialised behind a lock. The sync is the store's own redo
// journal (journal.go), not Badger's: with SyncWrites on, Badger pays two
// device flushes per transaction (value log and memtable WAL) even when the
// value log is untouched, while the journal record of a batch costs one
// durable write (O_DIRECT|O_DSYNC where the file system allows it, else a
// write and an fdatasync) into blocks the file already has, overlapped with
// the Badger commit. Open replays the journal into Badger and checkpoints
// (Badger synced, the journal started again at a new epoch); the writer
// checkpoints again every 64 MiB or 5 minutes.
// Callers prepare their keys and values before they queue; the writer only
// checks dedupe keys and reads the records it updates. An op that fails
// before writing (ErrDuplicate, ErrNotFound) does not disturb the others.
//
// # Key layout
//
// One Badger DB, encrypted (AES-256, key from Config.KeyFile). IDs are
// 8-byte big-endian so keys sort by arrival; "\x00" ends variable parts so
// that a value never prefixes another.
//
//	s/id                            ID high-water mark (written at checkpoints)
//	m/<id>                          record: metadata, no bytes (codec.go)
//	c/<id><stage>[<dest>]           bytes; stage r=raw, x=transformed,
//	                                s=sent to dest, a=response from dest
//	q/<dest>\x00<id>                queue item (patient_ref, attempts,
//	                                next attempt, enqueued at)
//	i/<index>/<value>\x00<id>       search index, empty value; index is
//	                                ch, ctl, snd, typ (message code), pat,
//	                                st, ack, err (values clipped at 200 bytes)
//	t/<channel>\x00<unixnano><id>   receive time per channel (time-range
//	                                searches, retention)
//	d/<channel>\x00<sender>\x00<control_id>   dedupe: earlier id and commit
//	                                time, with a TTL of the dedupe window
//	p/content/<channel>             content pruner's cursor (time+ID of the
//	                                last time index entry it passed)
//	r/<kind>\x00<key>               records (records.go): the Sync Registry's
//	                                charts, links, sessions and audit trail;
//	                                retention does not touch them
//
// Beside the database, journal.redo holds the redo records written since
// the last checkpoint, AES-GCM sealed under the same key.
//
// Keys hold channel, destination, control_id, sender, message code,
// patient_ref, status and ACK/error codes: the fields the style guide
// allows in logs. Message bytes live only in values.
//
// # Status
//
// A message's status is derived from its deliveries on every change:
// queued while any delivery is queued, else the worst outcome, with
// dead_lettered > errored > rejected > accepted_with_warnings > accepted >
// sent. Return deliveries (the ACK back to the EHR) count only when they
// fail. Without deliveries the message keeps the status Commit was given
// (received, filtered, errored). The status index entry moves in the same
// transaction as the record.
//
// # Concurrency
//
// Store methods are safe for concurrent use. Store.mu is held shared by
// every call that touches Badger and exclusively only by Close; pruneMu
// orders StartPruner against Close; depthMu guards the queue-depth map.
// Lock order: pruneMu and mu are never held together; depthMu is taken
// last (QueueDepth takes it under mu held shared). The writer goroutine is
// started by Open, the pruner by StartPruner; Close stops both and waits
// for them.
package store
