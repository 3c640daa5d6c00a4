package channels

import (
	"strings"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/mapping"
	"github.com/iisync/iisync/transforms/validate"
)

// returnName is the reserved destination name of a channel's return queue.
const returnName = "return"

// pipeline is one channel compiled from its configuration: the filter and
// steps ready to run, the queue names and the ACK header. It is immutable
// once built, so sources and workers share it without locks; a reload
// builds a new one and swaps the pointer.
type pipeline struct {
	cfg    ChannelConfig
	index  int             // position in Config.Channels, for error paths
	filter *mapping.Filter // nil keeps every message
	steps  []mapping.Step
	// validator checks the transformed message; nil without validation.
	validator *validate.Validator
	queues    []string // "<channel>/<dest>" for every destination, in config order
	dedupe    time.Duration
}

// buildPipeline compiles cfg (defaults applied and validated by the caller).
// Errors name the field, never a message value.
func buildPipeline(cfg ChannelConfig) (*pipeline, error) {
	p := &pipeline{cfg: cfg, dedupe: max(cfg.DedupeWindow, 0)}
	if cfg.Filter.Expr != "" {
		f, err := mapping.CompileFilter(cfg.Filter.Expr)
		if err != nil {
			return nil, field.Errorf("filter.expr", "%v", err)
		}
		p.filter = f
	}
	steps, err := mapping.Build(cfg.Transforms)
	if err != nil {
		return nil, field.Errorf("transforms", "%v", err)
	}
	p.steps = steps
	if v := cfg.Preflight; v != nil && v.Action != ValidateIgnore {
		val, err := validate.New(validate.Config{Severities: v.Severities})
		if err != nil {
			return nil, field.Prefix("validate", err)
		}
		p.validator = val
	}
	for _, d := range cfg.Destinations {
		p.queues = append(p.queues, queueName(cfg.Name, d.Name))
	}
	return p, nil
}

// name returns the channel's name.
func (p *pipeline) name() string { return p.cfg.Name }

// ackOptions returns the options of an ACK sent at now.
func (p *pipeline) ackOptions(now time.Time) hl7.ACKOptions {
	return hl7.ACKOptions{Now: now, SendingApp: p.cfg.ACK.SendingApp, SendingFacility: p.cfg.ACK.SendingFacility}
}

// destination returns the configuration of the destination named name.
func (p *pipeline) destination(name string) (DestinationConfig, bool) {
	for _, d := range p.cfg.Destinations {
		if d.Name == name {
			return d, true
		}
	}
	return DestinationConfig{}, false
}

// returnQueue returns the channel's return queue name, or "" without a return.
func (p *pipeline) returnQueue() string {
	if p.cfg.Return == nil {
		return ""
	}
	return queueName(p.cfg.Name, returnName)
}

// cutQueue splits a queue name into channel and destination.
func cutQueue(q string) (channel, dest string, ok bool) { return strings.Cut(q, "/") }

// queueName is the store's destination name of a channel's destination.
func queueName(channel, dest string) string { return channel + "/" + dest }

// sourceKind names the channel's source kind for metrics and the API.
func sourceKind(s SourceConfig) string {
	switch {
	case s.MLLP != nil:
		return "mllp"
	case s.Directory != nil:
		return "directory"
	case s.HTTP != nil:
		return "http"
	}
	return ""
}
