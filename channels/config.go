package channels

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"time"

	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/transforms/iis"
	"github.com/iisync/iisync/transforms/mapping"
	"github.com/iisync/iisync/transforms/validate"
)

// Config is the engine's part of the configuration: its channels.
type Config struct {
	Channels []ChannelConfig `yaml:"channels"`
}

// ChannelConfig is one channel: a source, an optional filter, transforms,
// one or more destinations, and an optional return channel to the EHR.
type ChannelConfig struct {
	// Name identifies the channel in logs, metrics, the API and queue names.
	// Required; letters, digits, '-' and '_'.
	Name string `yaml:"name"`
	// Enabled turns the channel on. Default true.
	Enabled *bool `yaml:"enabled"`
	// Source is where messages come from (exactly one kind).
	Source SourceConfig `yaml:"source"`
	// Filter keeps only matching messages. Default: keep all.
	Filter FilterConfig `yaml:"filter"`
	// Transforms run in order on every kept message.
	Transforms []mapping.StepConfig `yaml:"transforms"`
	// Preflight validates the transformed message before it is stored and
	// sent (CDC IG 1.5 profile and the rules registries reject on). Optional.
	Preflight *ValidateConfig `yaml:"validate"`
	// Destinations each get their own durable queue. At least one.
	Destinations []DestinationConfig `yaml:"destinations"`
	// Return sends each destination's response back to the EHR. Optional.
	Return *ReturnConfig `yaml:"return"`
	// ACK sets the header of the ACKs this channel sends to its source.
	ACK ACKConfig `yaml:"ack"`
	// Retry applies to destinations that do not set their own.
	Retry RetryConfig `yaml:"retry"`
	// DedupeWindow drops a message whose MSH-4 + MSH-10 was already received
	// on this channel within the window (it is ACKed AA again, not stored
	// twice). Default 24h; "-1s" (any negative) turns deduplication off.
	DedupeWindow time.Duration `yaml:"dedupe_window"`
	// Retention overrides storage.retention for this channel.
	Retention store.Retention `yaml:"retention"`
	// Sync turns the Sync Registry on for this channel. Optional.
	Sync *SyncConfig `yaml:"sync"`
}

// SourceConfig is exactly one of its kinds.
type SourceConfig struct {
	MLLP      *mllp.Config      `yaml:"mllp"`
	Directory *DirectoryConfig  `yaml:"directory"`
	HTTP      *HTTPSourceConfig `yaml:"http"`
}

// DirectoryConfig watches a directory for batch files.
type DirectoryConfig struct {
	// Path is the directory to watch. Required.
	Path string `yaml:"path"`
	// Pattern selects files by glob. Default "*.hl7".
	Pattern string `yaml:"pattern"`
	// PollInterval is how often the directory is scanned. Default 2s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// DoneDir receives fully processed files. Default "<path>/done".
	DoneDir string `yaml:"done_dir"`
	// ErrorDir receives files with messages that could not be stored. Default "<path>/error".
	ErrorDir string `yaml:"error_dir"`
}

// HTTPSourceConfig accepts messages by HTTP POST on the API listener.
type HTTPSourceConfig struct {
	// Path is the URL path. Default "/channels/<name>/messages".
	Path string `yaml:"path"`
}

// FilterConfig decides which messages the channel keeps.
type FilterConfig struct {
	// Expr is an expression over the message (see transforms/mapping), e.g.
	// `type == "VXU" && sender in ["CLINIC1"]`. Empty keeps every message.
	Expr string `yaml:"expr"`
	// OnReject is the ACK for a message the filter drops: "AA" (stored as
	// filtered and acknowledged), "AE" or "AR" (with an ERR). Default "AA".
	OnReject string `yaml:"on_reject"`
}

// ValidateConfig is a channel's pre-flight validation (transforms/validate).
type ValidateConfig struct {
	// Action decides what findings of severity error do: "reject" answers
	// the EHR AE with the findings as ERR segments, stores the message as
	// rejected and sends it nowhere; "send" sends it anyway (findings are
	// counted in iisync_validation_findings_total); "ignore" does not
	// validate. Default "reject".
	Action string `yaml:"action"`
	// Severities overrides the rules' default severities: rule id →
	// error, warning, info or ignore (see `iisync rules`).
	Severities map[string]validate.Severity `yaml:"severities"`
}

// Validation actions.
const (
	ValidateReject = "reject"
	ValidateSend   = "send"
	ValidateIgnore = "ignore"
)

// preflightName is the reserved destination name under which a pre-flight
// rejection is recorded.
const preflightName = "preflight"

// DestinationConfig is one destination: a name and exactly one kind.
type DestinationConfig struct {
	// Name is unique within the channel; "return" and "preflight" are
	// reserved. Required.
	Name string                 `yaml:"name"`
	MLLP *mllp.SenderConfig     `yaml:"mllp"`
	HTTP *HTTPDestinationConfig `yaml:"http"`
	File *FileDestinationConfig `yaml:"file"`
	IIS  *IISDestinationConfig  `yaml:"iis"`
	// Paused keeps the destination's queue filling without delivering
	// (a registry's announced downtime); a reload with paused false
	// resumes it in order. Default false.
	Paused bool `yaml:"paused"`
	// Schedule holds deliveries until a cron schedule fires ("@hourly",
	// "0 * * * *", five fields: minute hour day month weekday, local
	// time): at each tick everything queued is sent, in order, and retries
	// due before the next tick run too. Empty (the default) sends in real
	// time. Registries that prefer batches, and EHRs that send changes
	// hourly, use it.
	Schedule string `yaml:"schedule"`
	// Retry overrides the channel's retry settings.
	Retry *RetryConfig `yaml:"retry"`
}

// HTTPDestinationConfig POSTs each message (content type x-application/hl7-v2+er7).
type HTTPDestinationConfig struct {
	// URL is the endpoint, http or https. Required.
	URL string `yaml:"url"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers"`
	// Authorization is sent as the Authorization header; a secret.
	Authorization field.Secret `yaml:"authorization"`
	// CAFile is a PEM CA to trust for https (system roots if empty).
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one request. Default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// IISDestinationConfig is a state immunization registry reached over the
// CDC IIS SOAP web service (submitSingleMessage). The SOAP client settings
// are inline: url, username, password (a secret), facility_id, profile
// (wsdl, version, fallback_11, hub_destination_id, hub_destination_uri),
// timeout, max_retries, retry_wait_min, retry_wait_max, ca_file,
// cert_file, key_file, server_name, max_conns_per_host. The registry's ACK
// is classified with Classify's phrases on top of MSA-1 and ERR-4.
type IISDestinationConfig struct {
	soap.ClientConfig `yaml:",inline"`
	// Registry names a registry profile (conf's built-in table or the
	// file's iis_profiles) whose settings fill the fields left empty here.
	// Resolved by conf before the engine sees the config.
	Registry string `yaml:"registry"`
	// Classify holds the registry's reject and warning phrases (see
	// transforms/iis.Rules); empty lists keep the defaults.
	Classify iis.Rules `yaml:"classify"`
	// Concurrency is how many messages are submitted at once, never two of
	// the same patient (per-patient order holds). A registry that answers
	// in 200 ms takes 5 messages/s from one at a time. Mind the
	// registry's own limit on connections. Default 1, at most 64.
	Concurrency int `yaml:"concurrency"`
}

// maxConcurrency bounds a destination's parallel attempts.
const maxConcurrency = 64

// concurrency is how many attempts the destination's worker runs at once:
// its concurrency setting where the kind has one (its Send may be called
// in parallel), else 1.
func (d DestinationConfig) concurrency() int {
	if d.IIS != nil && d.IIS.Concurrency > 0 {
		return d.IIS.Concurrency
	}
	return 1
}

// IIS destination defaults that differ from the SOAP client's own: the
// queue retries with its own backoff, so one attempt retries only briefly.
const (
	defaultIISMaxRetries   = 2
	defaultIISRetryWaitMax = 10 * time.Second
)

// FileDestinationConfig writes each message to its own file in Dir.
type FileDestinationConfig struct {
	// Dir is created 0700 if missing. Required.
	Dir string `yaml:"dir"`
}

// RetryConfig governs redelivery after transport failures.
type RetryConfig struct {
	// InitialBackoff is the first wait. Default 1s.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the exponential wait (with jitter). Default 5m.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxAttempts dead-letters after this many attempts. Default 20.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxAge dead-letters a message queued longer than this. Default 72h.
	MaxAge time.Duration `yaml:"max_age"`
}

// ReturnConfig is the return channel: each destination response goes back
// to the EHR over MLLP, queued durably with its own retries.
type ReturnConfig struct {
	// MLLP is the EHR's listener.
	MLLP mllp.SenderConfig `yaml:"mllp"`
	// Mode is what is sent: "ack" re-addresses the destination's ACK to the
	// EHR with MSA-2 set to the EHR's original MSH-10 and the ERR segments
	// kept. Default "ack".
	Mode string `yaml:"mode"`
	// Retry overrides the channel's retry settings for the return queue.
	Retry *RetryConfig `yaml:"retry"`
}

// ACKConfig sets MSH-3/MSH-4 of the ACKs the channel sends. Default: the
// incoming MSH-5/MSH-6.
type ACKConfig struct {
	SendingApp      string `yaml:"sending_app"`
	SendingFacility string `yaml:"sending_facility"`
}

// WithDefaults fills every zero field with its documented default.
func (c Config) WithDefaults() Config {
	out := Config{Channels: make([]ChannelConfig, len(c.Channels))}
	for i, ch := range c.Channels {
		out.Channels[i] = ch.WithDefaults()
	}
	return out
}

// WithDefaults fills the channel's zero fields.
func (c ChannelConfig) WithDefaults() ChannelConfig {
	if c.Enabled == nil {
		t := true
		c.Enabled = &t
	}
	if c.Source.MLLP != nil {
		m := c.Source.MLLP.WithDefaults()
		c.Source.MLLP = &m
	}
	if d := c.Source.Directory; d != nil {
		dd := *d
		if dd.Pattern == "" {
			dd.Pattern = "*.hl7"
		}
		if dd.PollInterval == 0 {
			dd.PollInterval = 2 * time.Second
		}
		if dd.DoneDir == "" && dd.Path != "" {
			dd.DoneDir = path.Join(dd.Path, "done")
		}
		if dd.ErrorDir == "" && dd.Path != "" {
			dd.ErrorDir = path.Join(dd.Path, "error")
		}
		c.Source.Directory = &dd
	}
	if h := c.Source.HTTP; h != nil {
		hh := *h
		if hh.Path == "" {
			hh.Path = "/channels/" + c.Name + "/messages"
		}
		c.Source.HTTP = &hh
	}
	if c.Filter.OnReject == "" {
		c.Filter.OnReject = "AA"
	}
	if c.Preflight != nil {
		v := *c.Preflight
		if v.Action == "" {
			v.Action = ValidateReject
		}
		c.Preflight = &v
	}
	c.Retry = c.Retry.WithDefaults()
	if c.Sync != nil {
		s := c.Sync.withDefaults(c)
		c.Sync = &s
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = 24 * time.Hour
	}
	dests := make([]DestinationConfig, len(c.Destinations))
	for i, d := range c.Destinations {
		if d.MLLP != nil {
			s := d.MLLP.WithDefaults()
			d.MLLP = &s
		}
		if d.HTTP != nil {
			h := *d.HTTP
			if h.Timeout == 0 {
				h.Timeout = 30 * time.Second
			}
			d.HTTP = &h
		}
		if d.IIS != nil {
			c := *d.IIS
			if c.MaxRetries == 0 {
				c.MaxRetries = defaultIISMaxRetries
			}
			if c.RetryWaitMax == 0 {
				c.RetryWaitMax = defaultIISRetryWaitMax
			}
			if c.Concurrency == 0 {
				c.Concurrency = 1
			}
			c.ClientConfig = c.ClientConfig.WithDefaults()
			c.Classify = c.Classify.WithDefaults()
			d.IIS = &c
		}
		if d.Retry != nil {
			r := d.Retry.WithDefaults()
			d.Retry = &r
		}
		dests[i] = d
	}
	c.Destinations = dests
	if c.Return != nil {
		r := *c.Return
		r.MLLP = r.MLLP.WithDefaults()
		if r.Mode == "" {
			r.Mode = "ack"
		}
		if r.Retry != nil {
			rr := r.Retry.WithDefaults()
			r.Retry = &rr
		}
		c.Return = &r
	}
	return c
}

// WithDefaults fills the retry settings' zero fields.
func (r RetryConfig) WithDefaults() RetryConfig {
	if r.InitialBackoff == 0 {
		r.InitialBackoff = time.Second
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = 5 * time.Minute
	}
	if r.MaxAttempts == 0 {
		r.MaxAttempts = 20
	}
	if r.MaxAge == 0 {
		r.MaxAge = 72 * time.Hour
	}
	return r
}

// RetryFor returns the retry settings of destination d of the channel.
func (c ChannelConfig) RetryFor(d DestinationConfig) RetryConfig {
	if d.Retry != nil {
		return *d.Retry
	}
	return c.Retry
}

// IsEnabled reports whether the channel runs (Enabled defaults to true).
func (c ChannelConfig) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Validate reports every problem of every channel at once, with paths such
// as "channels[1].destinations[0].mllp.addr". Call it after WithDefaults.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]int{}
	for i, ch := range c.Channels {
		p := fmt.Sprintf("channels[%d]", i)
		if j, dup := seen[ch.Name]; dup && ch.Name != "" {
			errs = append(errs, field.Errorf(p+".name", "%q already used by channels[%d]", ch.Name, j))
		}
		seen[ch.Name] = i
		errs = append(errs, field.Prefix(p, ch.Validate()))
	}
	if len(c.Channels) == 0 {
		errs = append(errs, field.Errorf("channels", "at least one channel is required"))
	}
	return errors.Join(errs...)
}

// Validate reports every problem of the channel.
func (c ChannelConfig) Validate() error {
	var errs []error
	if !validName(c.Name) {
		errs = append(errs, field.Errorf("name", "must be 1-64 letters, digits, '-' or '_', got %q", c.Name))
	}
	errs = append(errs, field.Prefix("source", c.Source.Validate()))
	switch c.Filter.OnReject {
	case "AA", "AE", "AR":
	default:
		errs = append(errs, field.Errorf("filter.on_reject", "must be AA, AE or AR, got %q", c.Filter.OnReject))
	}
	if v := c.Preflight; v != nil {
		switch v.Action {
		case ValidateReject, ValidateSend, ValidateIgnore:
		default:
			errs = append(errs, field.Errorf("validate.action", "must be reject, send or ignore, got %q", v.Action))
		}
		errs = append(errs, field.Prefix("validate", validate.Config{Severities: v.Severities}.Validate()))
	}
	for i, s := range c.Transforms {
		errs = append(errs, field.Prefix(fmt.Sprintf("transforms[%d]", i), s.Validate()))
	}
	if len(c.Destinations) == 0 {
		errs = append(errs, field.Errorf("destinations", "at least one destination is required"))
	}
	names := map[string]int{}
	for i, d := range c.Destinations {
		p := fmt.Sprintf("destinations[%d]", i)
		if j, dup := names[d.Name]; dup && d.Name != "" {
			errs = append(errs, field.Errorf(p+".name", "%q already used by destinations[%d]", d.Name, j))
		}
		names[d.Name] = i
		errs = append(errs, field.Prefix(p, d.Validate()))
	}
	errs = append(errs, field.Prefix("retry", c.Retry.Validate()))
	if r := c.Return; r != nil {
		errs = append(errs, field.Prefix("return.mllp", r.MLLP.Validate()))
		if r.Mode != "ack" {
			errs = append(errs, field.Errorf("return.mode", "must be ack, got %q", r.Mode))
		}
		if r.Retry != nil {
			errs = append(errs, field.Prefix("return.retry", r.Retry.Validate()))
		}
	}
	if c.Sync != nil {
		errs = append(errs, field.Prefix("sync", c.Sync.validate(c)))
	}
	if c.Retention.Metadata != 0 && c.Retention.Content > c.Retention.Metadata {
		errs = append(errs, field.Errorf("retention", "content (%s) must not outlive metadata (%s)", c.Retention.Content, c.Retention.Metadata))
	}
	return errors.Join(errs...)
}

// Validate checks that exactly one source kind is set, and that kind.
func (s SourceConfig) Validate() error {
	n := 0
	var errs []error
	if s.MLLP != nil {
		n++
		errs = append(errs, field.Prefix("mllp", s.MLLP.Validate()))
	}
	if d := s.Directory; d != nil {
		n++
		if d.Path == "" {
			errs = append(errs, field.Errorf("directory.path", "required"))
		}
		if _, err := path.Match(d.Pattern, "x"); err != nil {
			errs = append(errs, field.Errorf("directory.pattern", "bad glob %q", d.Pattern))
		}
		if d.PollInterval < 100*time.Millisecond {
			errs = append(errs, field.Errorf("directory.poll_interval", "must be at least 100ms, got %s", d.PollInterval))
		}
	}
	if h := s.HTTP; h != nil {
		n++
		if len(h.Path) == 0 || h.Path[0] != '/' {
			errs = append(errs, field.Errorf("http.path", "must start with /, got %q", h.Path))
		}
	}
	if n != 1 {
		errs = append(errs, field.Errorf("", "must set exactly one of mllp, directory, http (got %d)", n))
	}
	return errors.Join(errs...)
}

// Validate checks the destination's name and its one kind.
func (d DestinationConfig) Validate() error {
	var errs []error
	if !validName(d.Name) || d.Name == returnName || d.Name == preflightName {
		errs = append(errs, field.Errorf("name", "must be 1-64 letters, digits, '-' or '_' and not \"return\" or \"preflight\", got %q", d.Name))
	}
	n := 0
	if d.MLLP != nil {
		n++
		errs = append(errs, field.Prefix("mllp", d.MLLP.Validate()))
	}
	if h := d.HTTP; h != nil {
		n++
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, field.Errorf("http.url", "must be an http(s) URL, got %q", h.URL))
		}
		if h.Timeout <= 0 {
			errs = append(errs, field.Errorf("http.timeout", "must be positive, got %s", h.Timeout))
		}
	}
	if f := d.File; f != nil {
		n++
		if f.Dir == "" {
			errs = append(errs, field.Errorf("file.dir", "required"))
		}
	}
	if d.Schedule != "" {
		if _, err := parseCron(d.Schedule); err != nil {
			errs = append(errs, field.Errorf("schedule", "%v", err))
		}
	}
	if c := d.IIS; c != nil {
		n++
		errs = append(errs, field.Prefix("iis", c.ClientConfig.Validate()), field.Prefix("iis.classify", c.Classify.Validate()))
		if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
			errs = append(errs, field.Errorf("iis.concurrency", "must be 1 to %d, got %d", maxConcurrency, c.Concurrency))
		}
	}
	if n != 1 {
		errs = append(errs, field.Errorf("", "must set exactly one of mllp, http, file, iis (got %d)", n))
	}
	if d.Retry != nil {
		errs = append(errs, field.Prefix("retry", d.Retry.Validate()))
	}
	return errors.Join(errs...)
}

// Validate checks the retry settings.
func (r RetryConfig) Validate() error {
	var errs []error
	if r.InitialBackoff <= 0 || r.MaxBackoff < r.InitialBackoff {
		errs = append(errs, field.Errorf("max_backoff", "must be at least initial_backoff (%s), got %s", r.InitialBackoff, r.MaxBackoff))
	}
	if r.MaxAttempts < 1 {
		errs = append(errs, field.Errorf("max_attempts", "must be at least 1, got %d", r.MaxAttempts))
	}
	if r.MaxAge <= 0 {
		errs = append(errs, field.Errorf("max_age", "must be positive, got %s", r.MaxAge))
	}
	return errors.Join(errs...)
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
