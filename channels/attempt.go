package channels

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

var (
	errAttemptTimeout = errors.New("channels: delivery attempt timed out")
	errNoContent      = errors.New("channels: message content no longer stored")
)

// attempt makes one delivery attempt of it and records the outcome. It
// returns when the item is due again if it stays queued for a retry, and
// ok false when the store failed (the item is left as it was).
func (w *worker) attempt(ctx context.Context, it store.QueueItem) (retryAt time.Time, ok bool) {
	msg, err := w.e.st.Get(it.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.failed(err, "store failing")
		return time.Time{}, false
	}
	var payload []byte
	if msg != nil {
		payload = w.payload(msg)
	}
	if payload == nil {
		return time.Time{}, w.deadLetter(it, msg, it.Attempts, errNoContent.Error())
	}
	attempts := it.Attempts + 1
	actx, cancel := context.WithTimeoutCause(ctx, w.timeout, errAttemptTimeout)
	start := time.Now()
	reply, retry, serr := w.d.Send(actx, payload)
	cancel()
	took := time.Since(start)
	switch {
	case serr == nil:
		return time.Time{}, w.delivered(it, msg, payload, reply, attempts, took)
	case ctx.Err() != nil: // hard stop: not the peer's fault, the item stays as it was
		return time.Time{}, true
	}
	now, r := w.e.now(), w.spec.Retry
	if !retry || attempts >= r.MaxAttempts || now.Sub(it.EnqueuedAt) >= r.MaxAge {
		w.e.m.sendTime.WithLabelValues(w.channel, w.dest).Observe(took.Seconds())
		return time.Time{}, w.deadLetter(it, msg, attempts, serr.Error())
	}
	next := now.Add(backoff(r, attempts))
	if err := w.e.st.Retry(it.ID, w.queue, attempts, next, serr.Error()); err != nil {
		w.failed(err, "store failing")
		return time.Time{}, false
	}
	w.e.m.observeRetry(w.channel, w.dest, took)
	if w.changedErr(serr.Error()) { // the first failure and each change, not every attempt
		logMsg(w.log.Warn(), msg).Err(serr).Int("attempts", attempts).Time("next_attempt", next).Msg("retrying")
	}
	return next, true
}

// payload returns the bytes to send for msg: for the return queue the
// prepared return message, else the transformed message or the raw one.
func (w *worker) payload(msg *store.Message) []byte {
	if w.isReturn {
		var sent []byte
		for _, d := range msg.Deliveries {
			if d.Return && d.Destination == w.queue && d.Sent != nil {
				sent = d.Sent // the latest one prepared
			}
		}
		if sent == nil && msg.Source == SourceRegistry {
			sent = msg.Raw // written for the EHR by the Sync Registry
		}
		return sent
	}
	if msg.Transformed != nil {
		return msg.Transformed
	}
	return msg.Raw
}

// delivered records a successful send with the reply's classification and,
// when the channel has a return, enqueues the return message in the same
// transaction. A rejected verdict is final: it is the registry's answer.
func (w *worker) delivered(it store.QueueItem, msg *store.Message, payload, reply []byte, attempts int, took time.Duration) bool {
	now := w.e.now()
	status, v, cls := classify(reply, w.d)
	d := store.Delivery{Destination: w.queue, Status: status, Attempts: attempts, SentAt: now,
		Sent: payload, Response: reply, ACKCode: cls.ACKCode, ErrorCodes: cls.ErrorCodes, Return: w.isReturn}
	ret := w.returnFor(msg, reply, v, "", now)
	w.changedErr("")
	w.recSlots <- struct{}{}
	w.recording.Go(func() {
		defer func() { <-w.recSlots }()
		if err := w.e.st.Deliver(it.ID, w.queue, d, ret); err != nil {
			// The item stays queued and the next pass sends it again:
			// at-least-once, never lost.
			logMsg(w.log.Error(), msg).Err(err).Msg("recording delivery failed")
			return
		}
		w.e.m.observeDelivery(w.channel, w.dest, status, took)
		if ret != nil {
			w.e.notify(ret.Destination)
		}
		logMsg(w.log.Info(), msg).Str("status", string(status)).Str("ack_code", cls.ACKCode).
			Int("attempts", attempts).Dur("duration", took).Msg("delivered")
	})
	return true
}

// deadLetter gives the delivery up with reason (never PHI). When the
// channel has a return, the EHR gets an AE for it in the same transaction.
func (w *worker) deadLetter(it store.QueueItem, msg *store.Message, attempts int, reason string) bool {
	now := w.e.now()
	ret := w.returnFor(msg, nil, iis.Unknown, "not delivered to "+w.dest+": "+reason, now)
	var err error
	if ret != nil {
		err = w.deadLetterWithReturn(it.ID, attempts, reason, now, ret)
	} else {
		err = w.e.st.DeadLetter(it.ID, w.queue, attempts, reason)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		w.failed(err, "store failing")
		return false
	}
	w.e.m.observeDeadLetter(w.channel, w.dest)
	if ret != nil {
		w.e.notify(ret.Destination)
	}
	ev := w.log.Error()
	if msg == nil {
		ev = ev.Uint64("id", uint64(it.ID))
	}
	logMsg(ev, msg).Int("attempts", attempts).Str("error", reason).Msg("dead-lettered")
	return true
}

// returnFor builds the return message of a destination outcome, or nil when
// the channel has no return (or this is the return queue itself).
func (w *worker) returnFor(msg *store.Message, reply []byte, v iis.Verdict, failure string, now time.Time) *store.Outgoing {
	p := w.pipe.Load()
	if w.isReturn || msg == nil || p == nil || p.cfg.Return == nil {
		return nil
	}
	orig, err := hl7.Parse(msg.Raw)
	if err != nil {
		return nil // only parsed messages are queued; pruned content has no return
	}
	b, err := buildReturn(orig, reply, v, failure, now)
	if err != nil {
		logMsg(w.log.Warn(), msg).Err(err).Msg("return not built")
		return nil
	}
	return &store.Outgoing{Destination: p.returnQueue(), Payload: b}
}

// ackClassifier is a destination that classifies its peer's replies with
// rules of its own (the IIS destination's reject and warning phrases).
type ackClassifier interface {
	classify(reply []byte) iis.Classification
}

// classify maps a destination's reply to a delivery status. A reply that
// is not HL7 (HTTP body, file) means sent, with verdict unknown.
func classify(reply []byte, d Destination) (store.Status, iis.Verdict, iis.Classification) {
	if len(reply) == 0 {
		return store.StatusSent, iis.Unknown, iis.Classification{}
	}
	if _, err := hl7.Parse(reply); err != nil {
		return store.StatusSent, iis.Unknown, iis.Classification{}
	}
	var c iis.Classification
	if ac, ok := d.(ackClassifier); ok {
		c = ac.classify(reply)
	} else {
		c = iis.Classify(reply)
	}
	switch c.Verdict {
	case iis.Accepted:
		return store.StatusAccepted, c.Verdict, c
	case iis.AcceptedWithWarnings:
		return store.StatusAcceptedWithWarnings, c.Verdict, c
	case iis.Rejected:
		return store.StatusRejected, c.Verdict, c
	}
	return store.StatusSent, c.Verdict, c
}

// logMsg adds the allowed fields (STYLE §7) of a stored message to ev.
func logMsg(ev *zerolog.Event, msg *store.Message) *zerolog.Event {
	if msg == nil {
		return ev
	}
	return ev.Uint64("id", uint64(msg.ID)).Str("control_id", msg.ControlID).Str("msg_type", msg.Type).
		Str("sender", msg.Sender).Str("patient_ref", msg.PatientRef)
}

// deadLetterWithReturn dead-letters the item and enqueues the EHR's AE. The
// store's Deliver takes the return in the same transaction; when it does
// not accept the dead_lettered status, the item is first finished as
// errored with the return queued (atomically), then marked dead_lettered:
// a crash in between leaves it errored, with the EHR still told.
func (w *worker) deadLetterWithReturn(id store.ID, attempts int, reason string, now time.Time, ret *store.Outgoing) error {
	d := store.Delivery{Destination: w.queue, Status: store.StatusDeadLettered, Attempts: attempts, LastError: reason, SentAt: now}
	err := w.e.st.Deliver(id, w.queue, d, ret)
	if !errors.Is(err, store.ErrInvalid) {
		return err
	}
	d.Status = store.StatusErrored
	if err := w.e.st.Deliver(id, w.queue, d, ret); err != nil {
		return err
	}
	return w.e.st.DeadLetter(id, w.queue, attempts, reason)
}
