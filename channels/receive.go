package channels

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
	"github.com/iisync/iisync/transforms/validate"
)

// verdict is how the receive path answered one message; sources map it to
// their own status (HTTP 200/422/503, the directory's error dir).
type verdict int

const (
	// verdictAccepted: AA, the message is stored (or was already).
	verdictAccepted verdict = iota
	// verdictRejected: AE or AR for the message's own fault (parse, filter,
	// transform); it is stored as errored or filtered.
	verdictRejected
	// verdictUnavailable: AR because the store refused; nothing is kept.
	verdictUnavailable
)

// reply is the receive path's answer to one message.
type reply struct {
	ack     []byte
	verdict verdict
	id      store.ID // the stored message, 0 when not stored
}

// Texts of the ERR segments the receive path writes (ERR-8; never PHI).
var (
	errNotStored   = errors.New("message not stored; send it again")
	errFiltered    = errors.New("message filtered by channel rules")
	errStepRemoved = errors.New("message removed by a transform step")
)

// internalError is an ERR segment with HL7 0357 code 207 and text msg.
func internalError(msg string) hl7.ErrorDetail {
	return hl7.ErrorDetail{Code: "207", CodeText: "Application internal error", Severity: 'E', UserMessage: msg}
}

// receive runs one message through the channel: parse, filter, transforms,
// durable commit, ACK. It is the one receive path of every source and is
// called concurrently. raw must stay unchanged until it returns. The ACK is
// AA only once the message is durably stored.
func (e *Engine) receive(ctx context.Context, p *pipeline, raw []byte, source string) reply {
	start := time.Now()
	r := e.process(ctx, p, raw, source, e.now())
	e.m.ackLatency.WithLabelValues(p.name()).Observe(time.Since(start).Seconds())
	return r
}

func (e *Engine) process(ctx context.Context, p *pipeline, raw []byte, source string, now time.Time) reply {
	opt := p.ackOptions(now)
	rec := &store.Message{Channel: p.name(), Source: source, ReceivedAt: now, Raw: raw}

	m, err := hl7.Parse(raw)
	if err != nil {
		e.m.parseErr.WithLabelValues(p.name()).Inc()
		rec.ControlID, rec.Sender = hl7.SalvageHeader(raw)
		rec.Status, rec.ParseError = store.StatusErrored, err.Error()
		id, serr := e.st.Commit(rec, nil, 0)
		if serr != nil {
			e.notStored(p, rec, serr)
			return reply{ack: hl7.BuildNAK(raw, errNotStored, "AR", opt), verdict: verdictUnavailable}
		}
		e.logReceived(e.log.Info(), p, rec).Uint64("id", uint64(id)).Str("error", rec.ParseError).Msg("unparseable")
		return reply{ack: hl7.BuildNAK(raw, err, "AE", opt), verdict: verdictRejected, id: id}
	}
	rec.ControlID, rec.Sender, rec.Type = m.ControlID(), m.Value("MSH-4.1"), m.Type()
	rec.PatientRef = m.PatientRef(e.opts.PatientKey)

	if p.filter != nil {
		keep, ferr := p.filter.Match(m)
		if ferr != nil { // a *mapping.FilterError: a position in the expression, never data
			return e.errored(p, rec, m, opt, ferr.Error())
		}
		if !keep {
			return e.filtered(p, rec, m, opt, errFiltered)
		}
	}
	out, err := mapping.Run(ctx, p.steps, m)
	switch {
	case err != nil:
		return e.errored(p, rec, m, opt, err.Error())
	case out == nil:
		return e.filtered(p, rec, m, opt, errStepRemoved)
	}
	if out != m { // a step changed it
		if b := out.Encode(); !bytes.Equal(b, raw) {
			rec.Transformed = b
		}
	}
	if p.validator != nil {
		findings := p.validator.Validate(out)
		e.m.observeFindings(p.name(), findings)
		if p.cfg.Preflight.Action == ValidateReject && hasError(findings) {
			return e.preflightRejected(p, rec, m, opt, findings)
		}
	}
	return e.commit(p, rec, m, opt)
}

// reported reports whether a finding goes into an ERR segment: errors and
// warnings do, info and ignored ones do not.
func reported(f validate.Finding) bool {
	return f.Severity == validate.Error || f.Severity == validate.Warning
}

// findingDetails turns the reported findings into ERR segments, the shape a
// registry's ACK has.
func findingDetails(fs []validate.Finding) []hl7.ErrorDetail {
	out := make([]hl7.ErrorDetail, 0, len(fs))
	for _, f := range fs {
		if reported(f) {
			out = append(out, f.ErrorDetail())
		}
	}
	return out
}

// findingCodes are the searchable codes of the reported findings:
// "0357:103", "0533:5" and "rule:<rule id>", sorted.
func findingCodes(fs []validate.Finding) []string {
	var codes []string
	for _, f := range fs {
		if !reported(f) {
			continue
		}
		for _, c := range []string{"0357:" + f.Code, "0533:" + f.AppCode, "rule:" + f.Rule} {
			if !strings.HasSuffix(c, ":") && !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
	}
	slices.Sort(codes)
	return codes
}

func hasError(fs []validate.Finding) bool {
	return slices.ContainsFunc(fs, func(f validate.Finding) bool { return f.Severity == validate.Error })
}

// preflightRejected stores a message that failed pre-flight validation as
// rejected, with the AE it answers (the findings as ERR segments, the shape
// a registry would send) recorded as the "preflight" delivery's response, so
// that it is searchable by its error codes, and answers that AE. Nothing is
// sent to the destinations.
func (e *Engine) preflightRejected(p *pipeline, rec *store.Message, m *hl7.Message, opt hl7.ACKOptions, findings []validate.Finding) reply {
	codes := findingCodes(findings)
	ack := hl7.BuildACK(m, "AE", findingDetails(findings), opt)
	rec.Status = store.StatusRejected
	rec.Deliveries = []store.Delivery{{
		Destination: queueName(p.name(), preflightName), Status: store.StatusRejected, Attempts: 1,
		ACKCode: "AE", ErrorCodes: codes, Response: ack,
	}}
	id, err := e.st.Commit(rec, nil, 0)
	if err != nil {
		e.notStored(p, rec, err)
		return reply{ack: hl7.BuildACK(m, "AR", []hl7.ErrorDetail{internalError(errNotStored.Error())}, opt), verdict: verdictUnavailable}
	}
	e.logReceived(e.log.Info(), p, rec).Uint64("id", uint64(id)).Strs("error_codes", codes).Msg("rejected by pre-flight validation")
	return reply{ack: ack, verdict: verdictRejected, id: id}
}

// commit stores a kept message with its queue items and answers AA.
func (e *Engine) commit(p *pipeline, rec *store.Message, m *hl7.Message, opt hl7.ACKOptions) reply {
	rec.Status = store.StatusQueued
	dedupe := p.dedupe
	if rec.Source == sourceReprocess {
		dedupe = 0 // reprocessing is asked for: store it again
	}
	id, err := e.st.Commit(rec, p.queues, dedupe)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		e.logReceived(e.log.Info(), p, rec).Uint64("id", uint64(id)).Msg("duplicate")
		return reply{ack: hl7.BuildACK(m, "AA", nil, opt), id: id}
	case err != nil:
		e.notStored(p, rec, err)
		return reply{ack: hl7.BuildACK(m, "AR", []hl7.ErrorDetail{internalError(errNotStored.Error())}, opt), verdict: verdictUnavailable}
	}
	e.m.received.WithLabelValues(p.name(), rec.Source).Inc()
	for i, q := range p.queues {
		e.m.queued.WithLabelValues(p.name(), p.cfg.Destinations[i].Name).Inc()
		e.notify(q)
	}
	e.logReceived(e.log.Info(), p, rec).Uint64("id", uint64(id)).Msg("queued")
	return reply{ack: hl7.BuildACK(m, "AA", nil, opt), id: id}
}

// filtered stores a message the filter (or a step) dropped and answers per
// filter.on_reject.
func (e *Engine) filtered(p *pipeline, rec *store.Message, m *hl7.Message, opt hl7.ACKOptions, why error) reply {
	e.m.filtered.WithLabelValues(p.name()).Inc()
	rec.Status = store.StatusFiltered
	id, err := e.st.Commit(rec, nil, 0)
	if err != nil {
		e.notStored(p, rec, err)
		return reply{ack: hl7.BuildACK(m, "AR", []hl7.ErrorDetail{internalError(errNotStored.Error())}, opt), verdict: verdictUnavailable}
	}
	e.logReceived(e.log.Info(), p, rec).Uint64("id", uint64(id)).Msg("filtered")
	code := p.cfg.Filter.OnReject
	if code == "AA" || code == "" {
		return reply{ack: hl7.BuildACK(m, "AA", nil, opt), id: id}
	}
	return reply{ack: hl7.BuildACK(m, code, []hl7.ErrorDetail{internalError(why.Error())}, opt), verdict: verdictRejected, id: id}
}

// errored stores a message whose filter or transform failed and answers AE
// with an ERR 207 carrying pos (a position or fixed text, never content).
func (e *Engine) errored(p *pipeline, rec *store.Message, m *hl7.Message, opt hl7.ACKOptions, pos string) reply {
	rec.Status, rec.ParseError = store.StatusErrored, pos
	id, err := e.st.Commit(rec, nil, 0)
	if err != nil {
		e.notStored(p, rec, err)
		return reply{ack: hl7.BuildACK(m, "AR", []hl7.ErrorDetail{internalError(errNotStored.Error())}, opt), verdict: verdictUnavailable}
	}
	e.logReceived(e.log.Info(), p, rec).Uint64("id", uint64(id)).Str("error", pos).Msg("errored")
	return reply{ack: hl7.BuildACK(m, "AE", []hl7.ErrorDetail{internalError(pos)}, opt), verdict: verdictRejected, id: id}
}

// notStored logs a store failure; the sender is answered AR and resends.
func (e *Engine) notStored(p *pipeline, rec *store.Message, err error) {
	e.logReceived(e.log.Error(), p, rec).Err(err).Msg("message not stored")
}

// logMsg adds the allowed message fields (STYLE §7) to ev.
func (e *Engine) logReceived(ev *zerolog.Event, p *pipeline, rec *store.Message) *zerolog.Event {
	return ev.Str("channel", p.name()).Str("source", rec.Source).Str("control_id", rec.ControlID).
		Str("msg_type", rec.Type).Str("sender", rec.Sender).Str("patient_ref", rec.PatientRef)
}
