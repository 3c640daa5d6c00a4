package conf

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/transforms/mapping"
)

// Defaults of the settings this package owns; the components document theirs
// on their own Config types.
const (
	DefaultAPIAddr       = "127.0.0.1:8080"
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "json"
	DefaultShutdownGrace = 30 * time.Second
)

// File is the whole configuration file. The zero value of each field means
// its default (see WithDefaults and docs/CONFIG.md).
type File struct {
	// Include lists more YAML files holding only a `channels:` list, as glob
	// patterns relative to this file's directory. Their channels are appended
	// to Channels in order (patterns in order, matches of one pattern sorted
	// by name). A pattern that matches no file is an error.
	Include []string `yaml:"include"`
	// Storage is the durable store (path, encryption key, retention).
	Storage store.Config `yaml:"storage"`
	// Security holds the keys outside the store.
	Security SecurityConfig `yaml:"security"`
	// API is the HTTP listener of the API, metrics, health and HTTP sources.
	API APIConfig `yaml:"api"`
	// Log configures the process log.
	Log LogConfig `yaml:"log"`
	// ShutdownGrace bounds a graceful shutdown (SIGTERM, SIGINT). Default 30s.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// CodesDir holds code tables newer than the embedded ones, written by
	// `iisync codes update` (cvx.tsv, mvx.tsv, cvx_vaccine_group.tsv);
	// serve installs them at start. Default "": the embedded tables.
	CodesDir string `yaml:"codes_dir"`
	// Sandbox, when set, runs the embedded IIS sandbox in the engine's
	// process (the demo's registry). Default: off.
	Sandbox *SandboxConfig `yaml:"sandbox"`
	// IISProfiles are registry profiles that iis destinations name with
	// registry:, added to (or replacing) the built-in ones
	// (conf/registries.yaml).
	IISProfiles map[string]channels.IISDestinationConfig `yaml:"iis_profiles"`
	// Channels are the pipelines; those of Include files follow these.
	Channels []channels.ChannelConfig `yaml:"channels"`

	// origins[i] is the include file that held Channels[i], "" for this file.
	origins []string
}

// SecurityConfig holds the key files that are not the store's own.
type SecurityConfig struct {
	// PatientRefKeyFile holds the HMAC key that turns a patient's MRN into
	// the patient_ref used in logs and search. Required, with no default:
	// losing or changing it breaks every stored patient_ref. It must not be
	// storage.key_file.
	PatientRefKeyFile string `yaml:"patient_ref_key_file"`
	// CreateKeys creates missing key files (patient_ref_key_file and
	// storage.key_file, 0600, random) at startup; it also sets
	// storage.create_key. For the demo; production key files are made and
	// owned by operations. Default false.
	CreateKeys bool `yaml:"create_keys"`
}

// APIConfig is the HTTP listener.
type APIConfig struct {
	// Addr is the host:port serving /api, /metrics, /healthz and the HTTP
	// sources. Default "127.0.0.1:8080".
	Addr string `yaml:"addr"`
	// Token, when set, is the bearer token every /api request must present.
	// Default empty: no token (keep Addr on loopback then).
	Token field.Secret `yaml:"token"`
}

// LogConfig configures the process log.
type LogConfig struct {
	// Level is the least severe level written: trace, debug, info, warn or
	// error. Default "info".
	Level string `yaml:"level"`
	// Format is "json" (one object per line) or "console" (for a terminal).
	// Default "json".
	Format string `yaml:"format"`
}

// WithDefaults returns f with every zero field set to its documented
// default, the components' defaults included. CreateKeys sets
// Storage.CreateKey.
func (f File) WithDefaults() File {
	if f.Security.CreateKeys {
		f.Storage.CreateKey = true
	}
	f.Storage = f.Storage.WithDefaults()
	if f.API.Addr == "" {
		f.API.Addr = DefaultAPIAddr
	}
	if f.Log.Level == "" {
		f.Log.Level = DefaultLogLevel
	}
	if f.Log.Format == "" {
		f.Log.Format = DefaultLogFormat
	}
	if f.ShutdownGrace == 0 {
		f.ShutdownGrace = DefaultShutdownGrace
	}
	f.Channels = channels.Config{Channels: f.Channels}.WithDefaults().Channels
	if f.Sandbox != nil {
		sb := f.Sandbox.WithDefaults()
		f.Sandbox = &sb
	}
	f.Include = append([]string(nil), f.Include...)
	f.origins = append([]string(nil), f.origins...)
	return f
}

// Engine returns the channels part of the configuration, for channels.New
// and Engine.Apply.
func (f File) Engine() channels.Config {
	return channels.Config{Channels: f.Channels}
}

// Validate reports every problem of f at once, joined, each a *field.Error
// with its path ("storage.key_file", "channels[2].source.mllp.addr"). Call
// it on the result of WithDefaults. It reads no files and opens nothing.
func (f File) Validate() error {
	var errs []error
	errs = append(errs, field.Prefix("storage", f.Storage.Validate()))
	switch k := f.Security.PatientRefKeyFile; {
	case k == "":
		errs = append(errs, field.Errorf("security.patient_ref_key_file", "required (a file holding the HMAC key for patient_ref)"))
	case k == f.Storage.KeyFile:
		errs = append(errs, field.Errorf("security.patient_ref_key_file", "must not be storage.key_file, got %q for both", k))
	}
	if err := checkHostPort(f.API.Addr); err != nil {
		errs = append(errs, field.Errorf("api.addr", "must be host:port, got %q", f.API.Addr))
	}
	switch f.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		errs = append(errs, field.Errorf("log.level", "must be trace, debug, info, warn or error, got %q", f.Log.Level))
	}
	switch f.Log.Format {
	case "json", "console":
	default:
		errs = append(errs, field.Errorf("log.format", "must be json or console, got %q", f.Log.Format))
	}
	if f.ShutdownGrace <= 0 {
		errs = append(errs, field.Errorf("shutdown_grace", "must be positive, got %s", f.ShutdownGrace))
	}
	errs = append(errs, f.Engine().Validate())
	errs = append(errs, f.validateChannels()...)
	errs = append(errs, f.validateRegistries()...)
	if f.Sandbox != nil {
		errs = append(errs, field.Prefix("sandbox", f.Sandbox.Validate()))
	}
	return f.annotate(errors.Join(errs...))
}

// validateChannels checks what no single channel can: listener addresses
// and HTTP source paths shared between channels or with the API, plus each
// channel's filter expression and transform steps, compiled as the engine
// will compile them.
func (f File) validateChannels() []error {
	var errs []error
	type claim struct{ path, addr string }
	listeners := []claim{{"api.addr", f.API.Addr}}
	httpPaths := map[string]string{}
	for i, ch := range f.Channels {
		p := fmt.Sprintf("channels[%d]", i)
		if ch.Filter.Expr != "" {
			if _, err := mapping.CompileFilter(ch.Filter.Expr); err != nil {
				errs = append(errs, field.Errorf(p+".filter.expr", "%s", oneLine(err)))
			}
		}
		errs = append(errs, field.Prefix(p+".transforms", buildSteps(ch.Transforms)))
		if !ch.IsEnabled() {
			continue // a disabled channel listens on nothing
		}
		if m := ch.Source.MLLP; m != nil && checkHostPort(m.Addr) == nil {
			for _, c := range listeners {
				if sameListener(c.addr, m.Addr) {
					errs = append(errs, field.Errorf(p+".source.mllp.addr", "%q already used by %s", m.Addr, c.path))
					break
				}
			}
			listeners = append(listeners, claim{p + ".source.mllp.addr", m.Addr})
		}
		if h := ch.Source.HTTP; h != nil && h.Path != "" {
			switch {
			case h.Path == "/metrics" || h.Path == "/healthz" || h.Path == "/api" || strings.HasPrefix(h.Path, "/api/"):
				errs = append(errs, field.Errorf(p+".source.http.path", "%q is reserved for the API", h.Path))
			case httpPaths[h.Path] != "":
				errs = append(errs, field.Errorf(p+".source.http.path", "%q already used by %s", h.Path, httpPaths[h.Path]))
			default:
				httpPaths[h.Path] = p
			}
		}
	}
	return errs
}

// oneLine flattens an expression compiler's error to one line: its source
// excerpts (" | type ==" and the caret under it) are dropped.
func oneLine(err error) string {
	var parts []string
	for l := range strings.Lines(err.Error()) {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "|") {
			parts = append(parts, strings.TrimPrefix(l, "mapping: compile filter: "))
		}
	}
	return strings.Join(parts, "; ")
}

// buildSteps builds the steps as the engine will and returns the problems
// that only building finds: those of steps failing their own Validate are
// already reported by the channel's Validate.
func buildSteps(steps []mapping.StepConfig) error {
	if len(steps) == 0 {
		return nil
	}
	_, err := mapping.Build(steps)
	var out []error
	for _, e := range field.Flatten(err) {
		var fe *field.Error
		if errors.As(e, &fe) {
			num, _, _ := strings.Cut(strings.TrimPrefix(fe.Path, "["), "]")
			if i, err := strconv.Atoi(num); err == nil && i >= 0 && i < len(steps) && steps[i].Validate() != nil {
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// checkHostPort accepts host:port with a numeric port 0..65535.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("bad port")
	}
	return nil
}

// sameListener reports whether two listen addresses would collide: the same
// port on the same host, or on any host when either is a wildcard. Port 0
// (any free port) never collides.
func sameListener(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

// annotate appends the include file to every problem of a channel that came
// from one, e.g. `channels[2].name: … (channels[2] is in channels.d/b.yaml)`.
func (f File) annotate(err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range field.Flatten(err) {
		var fe *field.Error
		if errors.As(e, &fe) {
			if i, ok := channelIndex(fe.Path); ok && i < len(f.origins) && f.origins[i] != "" {
				e = &field.Error{Path: fe.Path, Msg: fmt.Sprintf("%s (channels[%d] is in %s)", fe.Msg, i, f.origins[i])}
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// channelIndex returns i of a path "channels[i]…".
func channelIndex(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "channels[")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil
}

// ReloadError reports a changed setting that only a restart applies.
type ReloadError struct {
	// Path is the setting, e.g. "storage.path".
	Path string
}

func (e *ReloadError) Error() string { return "reload not supported for " + e.Path }

// ReloadableFrom reports, joined as *ReloadError values, every setting that
// differs between old (the running configuration) and f and that a reload
// (SIGHUP) cannot apply: storage.*, security.*, api.addr and log.format.
// Channels, api.token, log.level and shutdown_grace reload. Both files are
// compared after WithDefaults.
func (f File) ReloadableFrom(old File) error {
	nf, of := f.WithDefaults(), old.WithDefaults()
	var paths []string
	paths = diff("storage", reflect.ValueOf(nf.Storage), reflect.ValueOf(of.Storage), paths)
	paths = diff("security", reflect.ValueOf(nf.Security), reflect.ValueOf(of.Security), paths)
	if nf.API.Addr != of.API.Addr {
		paths = append(paths, "api.addr")
	}
	if nf.Log.Format != of.Log.Format {
		paths = append(paths, "log.format")
	}
	var errs []error
	for _, p := range paths {
		errs = append(errs, &ReloadError{Path: p})
	}
	return errors.Join(errs...)
}

// diff appends the YAML paths of the leaves that differ between a and b
// (values of one struct type).
func diff(path string, a, b reflect.Value, out []string) []string {
	if a.Kind() == reflect.Struct {
		t := a.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			out = diff(path+"."+name, a.Field(i), b.Field(i), out)
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		out = append(out, path)
	}
	return out
}
