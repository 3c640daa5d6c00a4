package channels

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
	"github.com/iisync/iisync/transforms/validate"
)

// TryResult is what a channel would do with one message, worked out
// without storing or sending anything: the transform playground and the
// channel tests (`iisync try`, `iisync test`, POST /api/channels/{name}/try).
// Its byte and Change fields hold message data.
type TryResult struct {
	// Outcome is "queued" (would be stored and sent), "filtered" (the
	// filter or a step dropped it), "rejected" (pre-flight validation
	// found errors and the channel rejects), or "error" (it did not parse,
	// or the filter or a step failed).
	Outcome string `json:"outcome"`
	// Error is the parse, filter or step error: a position, never data.
	Error string `json:"error,omitempty"`
	// Transformed is the message after the steps (absent when it did not
	// get that far).
	Transformed []byte `json:"-"`
	// Changes is what the steps changed, field by field.
	Changes []hl7.Change `json:"changes,omitempty"`
	// Findings are the pre-flight validation's findings (none without a
	// validate: section).
	Findings []validate.Finding `json:"findings,omitempty"`
	// ACK is the acknowledgement the sender would get.
	ACK []byte `json:"-"`
}

// Outcomes of TryResult.
const (
	TryQueued   = "queued"
	TryFiltered = "filtered"
	TryRejected = "rejected"
	TryError    = "error"
)

// TryChannel runs raw through the channel cfg describes (defaults are
// applied and it is validated first) as the engine would, at now, without
// a store: parse, filter, steps, pre-flight validation, and the ACK.
func TryChannel(ctx context.Context, cfg ChannelConfig, raw []byte, now time.Time) (*TryResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := buildPipeline(cfg)
	if err != nil {
		return nil, err
	}
	return p.try(ctx, raw, now), nil
}

// Try runs raw through the running channel name without storing or
// sending it; see TryChannel.
func (e *Engine) Try(ctx context.Context, channel string, raw []byte) (*TryResult, error) {
	e.mu.Lock()
	p := e.pipes[channel]
	e.mu.Unlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, channel)
	}
	return p.try(ctx, raw, e.now()), nil
}

// try mirrors Engine.process, minus the store.
func (p *pipeline) try(ctx context.Context, raw []byte, now time.Time) *TryResult {
	opt := p.ackOptions(now)
	m, err := hl7.Parse(raw)
	if err != nil {
		return &TryResult{Outcome: TryError, Error: err.Error(), ACK: hl7.BuildNAK(raw, err, "AE", opt)}
	}
	if p.filter != nil {
		keep, ferr := p.filter.Match(m)
		switch {
		case ferr != nil:
			return &TryResult{Outcome: TryError, Error: ferr.Error(), ACK: hl7.BuildACK(m, "AE", []hl7.ErrorDetail{internalError(ferr.Error())}, opt)}
		case !keep:
			return &TryResult{Outcome: TryFiltered, ACK: p.filteredACK(m, opt, errFiltered)}
		}
	}
	out, err := mapping.Run(ctx, p.steps, m)
	switch {
	case err != nil:
		return &TryResult{Outcome: TryError, Error: err.Error(), ACK: hl7.BuildACK(m, "AE", []hl7.ErrorDetail{internalError(err.Error())}, opt)}
	case out == nil:
		return &TryResult{Outcome: TryFiltered, ACK: p.filteredACK(m, opt, errStepRemoved)}
	}
	r := &TryResult{Outcome: TryQueued, Transformed: out.Encode()}
	if !bytes.Equal(r.Transformed, raw) {
		r.Changes = hl7.Diff(m, out)
	}
	if p.validator != nil {
		r.Findings = p.validator.Validate(out)
		if p.cfg.Preflight.Action == ValidateReject && hasError(r.Findings) {
			r.Outcome = TryRejected
			r.ACK = hl7.BuildACK(m, "AE", findingDetails(r.Findings), opt)
			return r
		}
	}
	r.ACK = hl7.BuildACK(m, "AA", nil, opt)
	return r
}

// filteredACK is the answer to a dropped message, per filter.on_reject.
func (p *pipeline) filteredACK(m *hl7.Message, opt hl7.ACKOptions, why error) []byte {
	code := p.cfg.Filter.OnReject
	if code == "AA" || code == "" {
		return hl7.BuildACK(m, "AA", nil, opt)
	}
	return hl7.BuildACK(m, code, []hl7.ErrorDetail{internalError(why.Error())}, opt)
}
