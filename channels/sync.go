package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/hl7"
	"github.com/iisync/iisync/transforms/iis"
)

// SourceRegistry is the Source of messages the Sync Registry writes: its
// queries, the VXUs it sends to the registry, and the VXUs (imports,
// updates, deletions) it queues for the EHR on the return channel.
const SourceRegistry = "registry"

// SyncConfig turns the Sync Registry on for a channel (YAML "sync"): the
// channel's VXUs build a mirror of each patient's chart, and a user can
// query the registry for one patient, compare, and reconcile both sides.
type SyncConfig struct {
	// Destination is the iis destination that is queried and sent to.
	// Default: the channel's only iis destination.
	Destination string `yaml:"destination"`
	// Profile is the query profile, "Z44" (evaluated history and
	// forecast, the default) or "Z34" (history only).
	Profile string `yaml:"profile"`
	// DayWindow lets doses of the same vaccine group this many days apart
	// match, shown as a match with a date difference. Default 0: same day.
	DayWindow int `yaml:"day_window"`
	// Application is MSH-3 of the messages the Sync Registry writes.
	// Default "IISYNC".
	Application string `yaml:"application"`
}

// Sync profiles.
const (
	ProfileZ44 = "Z44"
	ProfileZ34 = "Z34"
)

// maxDayWindow bounds day_window: two doses months apart are two doses.
const maxDayWindow = 60

// withDefaults fills the sync defaults for channel c.
func (s SyncConfig) withDefaults(c ChannelConfig) SyncConfig {
	if s.Destination == "" {
		var only string
		for _, d := range c.Destinations {
			if d.IIS != nil {
				if only != "" {
					only = ""
					break
				}
				only = d.Name
			}
		}
		s.Destination = only
	}
	if s.Profile == "" {
		s.Profile = ProfileZ44
	}
	if s.Application == "" {
		s.Application = "IISYNC"
	}
	return s
}

// validate checks s against its channel c (defaults applied).
func (s SyncConfig) validate(c ChannelConfig) error {
	var errs []error
	switch d, ok := c.destination(s.Destination); {
	case s.Destination == "":
		errs = append(errs, field.Errorf("destination", "required: the channel has no single iis destination to default to"))
	case !ok:
		errs = append(errs, field.Errorf("destination", "no destination %q in this channel", s.Destination))
	case d.IIS == nil:
		errs = append(errs, field.Errorf("destination", "%q is not an iis destination", s.Destination))
	}
	if s.Profile != ProfileZ44 && s.Profile != ProfileZ34 {
		errs = append(errs, field.Errorf("profile", "must be Z44 or Z34, got %q", s.Profile))
	}
	if s.DayWindow < 0 || s.DayWindow > maxDayWindow {
		errs = append(errs, field.Errorf("day_window", "must be 0 to %d days, got %d", maxDayWindow, s.DayWindow))
	}
	if !validName(s.Application) {
		errs = append(errs, field.Errorf("application", "must be 1-64 letters, digits, '-' or '_', got %q", s.Application))
	}
	return errors.Join(errs...)
}

// destination returns the destination named name.
func (c ChannelConfig) destination(name string) (DestinationConfig, bool) {
	for _, d := range c.Destinations {
		if d.Name == name {
			return d, true
		}
	}
	return DestinationConfig{}, false
}

// SyncChannel is a running channel with the Sync Registry on.
type SyncChannel struct {
	Name string
	Sync SyncConfig // defaults applied
	// Destination is the iis destination's configuration.
	Destination DestinationConfig
	// Return reports whether the channel has a return channel to the EHR
	// (imports and deletions need one).
	Return bool
	// ACK is the channel's ACK header: the engine speaks as ACK.Application
	// and ACK.Facility to the EHR.
	ACK ACKConfig
}

// ErrPaused means the destination is paused (paused: true): nothing is
// sent to it, not even in real time.
var ErrPaused = errors.New("channels: destination paused")

// ErrNoSync means the channel is not running or has no sync section.
var ErrNoSync = errors.New("channels: the Sync Registry is not configured for this channel")

// SyncChannels lists the running channels with the Sync Registry on, in
// configuration order.
func (e *Engine) SyncChannels() []SyncChannel {
	e.mu.Lock()
	cfg, pipes := e.cfg, e.pipes
	e.mu.Unlock()
	var out []SyncChannel
	for _, ch := range cfg.Channels {
		if pipes[ch.Name] == nil || ch.Sync == nil {
			continue
		}
		d, _ := ch.destination(ch.Sync.Destination)
		out = append(out, SyncChannel{Name: ch.Name, Sync: *ch.Sync, Destination: d, Return: ch.Return != nil, ACK: ch.ACK})
	}
	return out
}

// SyncChannel returns the running channel name with the Sync Registry on,
// or ErrNoSync.
func (e *Engine) SyncChannel(name string) (SyncChannel, error) {
	for _, c := range e.SyncChannels() {
		if c.Name == name {
			return c, nil
		}
	}
	return SyncChannel{}, fmt.Errorf("%w: %q", ErrNoSync, name)
}

// Submit sends payload to the running destination dest of channel at
// once, outside its queue, and classifies the reply with the
// destination's rules: the Sync Registry's real-time queries and sends.
// The caller stores what it needs.
func (e *Engine) Submit(ctx context.Context, channel, dest string, payload []byte) ([]byte, iis.Classification, error) {
	w, err := e.destinationWorker(channel, dest)
	if err != nil {
		return nil, iis.Classification{}, err
	}
	if w.spec.Dest != nil && w.spec.Dest.Paused {
		return nil, iis.Classification{}, fmt.Errorf("%w: %q/%q", ErrPaused, channel, dest)
	}
	actx, cancel := context.WithTimeoutCause(ctx, w.timeout, errAttemptTimeout)
	defer cancel()
	reply, _, err := w.d.Send(actx, payload)
	if err != nil {
		return nil, iis.Classification{}, err
	}
	_, _, cls := classify(reply, w.d)
	return reply, cls, nil
}

// ToEHR stores rec (a message the engine writes to the EHR: Source
// SourceRegistry, Raw the message) and queues it on channel's return
// queue, which delivers it with retries like any return message.
func (e *Engine) ToEHR(channel string, rec *store.Message) (store.ID, error) {
	e.mu.Lock()
	p := e.pipes[channel]
	e.mu.Unlock()
	if p == nil || p.returnQueue() == "" {
		return 0, fmt.Errorf("%w: %q has no return channel", ErrNoDestination, channel)
	}
	rec.Channel, rec.Source, rec.Status = channel, SourceRegistry, store.StatusQueued
	if rec.ReceivedAt.IsZero() {
		rec.ReceivedAt = e.now()
	}
	id, err := e.st.Commit(rec, []string{p.returnQueue()}, 0)
	if err != nil {
		return 0, err
	}
	e.notify(p.returnQueue())
	return id, nil
}

// PatientRef returns the patient_ref of an MRN (STYLE §7): the first 16
// hex digits of HMAC-SHA256 with the patient key, as hl7.Message.PatientRef
// computes it from PID-3.1, so it finds the patient's stored messages. The
// Sync Registry also uses it as the keyed pseudonym of other patient keys
// (facility and MRN).
func (e *Engine) PatientRef(mrn string) string { return hl7.PatientRef(e.opts.PatientKey, mrn) }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }
