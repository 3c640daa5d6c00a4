package conf

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/transforms/iis"
)

// iisBase is a valid configuration whose one destination is an iis one;
// iisConfig appends the destination's keys (indented under iis:) and
// more top-level YAML.
const iisBase = `storage: {key_file: store.key}
security: {patient_ref_key_file: ref.key}
channels:
  - name: c
    source: {mllp: {addr: "127.0.0.1:3001"}}
    destinations:
      - name: state
        iis:
          url: https://iis.example.org/IISService
`

func iisConfig(destKeys, top string) string {
	var b strings.Builder
	b.WriteString(iisBase)
	for l := range strings.Lines(destKeys) {
		b.WriteString("          " + l)
	}
	if destKeys != "" && !strings.HasSuffix(destKeys, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(top)
	return b.String()
}

// parseIIS parses cfg and returns its first destination's iis settings.
func parseIIS(t *testing.T, cfg string) (*File, *channels.IISDestinationConfig) {
	t.Helper()
	f, err := ParseWith([]byte(cfg), "t.yaml", t.TempDir(), env(nil))
	if err != nil {
		t.Fatalf("parse:\n%s\nerror: %v", cfg, err)
	}
	d := f.Channels[0].Destinations[0].IIS
	if d == nil {
		t.Fatal("no iis destination")
	}
	return f, d
}

// builtinNames are the registry profiles conf/registries.yaml must keep:
// configurations in the field name them.
var builtinNames = []string{"cdc-2011", "cdc-2011-any", "cdc-2011-soap11", "cdc-2014", "izgateway", "sandbox"}

// TestBuiltinRegistryProfiles: registries.yaml decodes, holds the expected
// names, each valid on its own, and every one resolves through Parse into
// the profile it describes.
func TestBuiltinRegistryProfiles(t *testing.T) {
	profiles := File{}.RegistryProfiles()
	var names []string
	for name := range profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, want := range builtinNames {
		if !slices.Contains(names, want) {
			t.Errorf("built-in profiles %v lack %q", names, want)
		}
	}
	want := map[string]soap.Profile{
		"cdc-2011":        {WSDL: soap.WSDL2011, Version: soap.SOAP12},
		"cdc-2011-soap11": {WSDL: soap.WSDL2011, Version: soap.SOAP11},
		"cdc-2011-any":    {WSDL: soap.WSDL2011, Version: soap.SOAP12, Fallback11: true},
		"cdc-2014":        {WSDL: soap.WSDL2014, Version: soap.SOAP12},
		"izgateway":       {WSDL: soap.WSDLHub, Version: soap.SOAP12, HubDestinationID: "dex-ZZ"},
		"sandbox":         {WSDL: soap.WSDL2011, Version: soap.SOAP12},
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := profiles[name]
			// A profile carries wire shape only, never a site's endpoint or
			// credentials.
			if p.URL != "" || p.Username != "" || !p.Password.IsZero() || p.FacilityID != "" || p.Registry != "" {
				t.Errorf("built-in profile %s carries site settings", name)
			}
			keys := "registry: " + name + "\n"
			if p.Profile.WSDL == soap.WSDLHub {
				keys += "profile: {hub_destination_id: dex-ZZ}\n"
			}
			_, d := parseIIS(t, iisConfig(keys, ""))
			if w, ok := want[name]; ok && d.Profile != w {
				t.Errorf("profile %+v, want %+v", d.Profile, w)
			}
			if d.Registry != name || d.URL != "https://iis.example.org/IISService" {
				t.Errorf("registry %q url %q", d.Registry, d.URL)
			}
		})
	}
}

// TestRegistryPrecedence: a profile fills only what the destination leaves
// empty, recursively into profile and classify; iis_profiles add profiles
// and replace built-in ones.
func TestRegistryPrecedence(t *testing.T) {
	tests := []struct {
		name, dest, top string
		check           func(d *channels.IISDestinationConfig) string // "" when right
	}{
		{"soap11 profile gives version 1.1", "registry: cdc-2011-soap11", "",
			func(d *channels.IISDestinationConfig) string {
				return wantEq(d.Profile, soap.Profile{WSDL: "2011", Version: soap.SOAP11})
			}},
		{"no registry keeps the client defaults", "", "",
			func(d *channels.IISDestinationConfig) string {
				return wantEq(fmt.Sprint(d.Profile, d.Timeout, d.MaxRetries, d.RetryWaitMax, d.Classify.RejectPhrases),
					fmt.Sprint(soap.Profile{WSDL: "2011"}, soap.DefaultTimeout, 2, 10*time.Second, iis.DefaultRules().RejectPhrases))
			}},
		{"user profile replaces a built-in one", "registry: sandbox",
			"iis_profiles:\n  sandbox: {profile: {wsdl: \"2014\", version: \"1.1\"}, timeout: 7s}\n",
			func(d *channels.IISDestinationConfig) string {
				return wantEq(fmt.Sprint(d.Profile, d.Timeout), fmt.Sprint(soap.Profile{WSDL: "2014", Version: soap.SOAP11}, 7*time.Second))
			}},
		{"user profile adds a name", "registry: nmsiis",
			"iis_profiles:\n  nmsiis:\n    profile: {version: \"1.1\"}\n    facility_id: NM-FAC\n    max_retries: 5\n    retry_wait_max: 3s\n" +
				"    classify: {reject_phrases: [RECORD REJECTED], warning_phrases: [INFORMATIONAL]}\n",
			func(d *channels.IISDestinationConfig) string {
				return wantEq(fmt.Sprint(d.Profile, d.FacilityID, d.MaxRetries, d.RetryWaitMax, d.Classify.RejectPhrases, d.Classify.WarningPhrases),
					fmt.Sprint(soap.Profile{WSDL: "2011", Version: soap.SOAP11}, "NM-FAC", 5, 3*time.Second, []string{"RECORD REJECTED"}, []string{"INFORMATIONAL"}))
			}},
		{"destination fields beat the profile", "registry: nmsiis\nfacility_id: MINE\ntimeout: 3s\nmax_retries: -1\n" +
			"profile: {wsdl: \"2014\"}\nclassify: {reject_phrases: [NOT STORED]}",
			"iis_profiles:\n  nmsiis:\n    profile: {wsdl: \"2011\", version: \"1.1\"}\n    facility_id: NM-FAC\n    timeout: 9s\n    max_retries: 5\n" +
				"    classify: {reject_phrases: [RECORD REJECTED], warning_phrases: [INFORMATIONAL]}\n",
			func(d *channels.IISDestinationConfig) string {
				// profile.wsdl is the destination's, profile.version still
				// the profile's (filled field by field); classify's
				// warning phrases, left out, come from the profile.
				return wantEq(fmt.Sprint(d.Profile, d.FacilityID, d.Timeout, d.MaxRetries, d.Classify.RejectPhrases, d.Classify.WarningPhrases),
					fmt.Sprint(soap.Profile{WSDL: "2014", Version: soap.SOAP11}, "MINE", 3*time.Second, -1, []string{"NOT STORED"}, []string{"INFORMATIONAL"}))
			}},
		{"an empty phrase list beats the profile's", "registry: nmsiis\nclassify: {reject_phrases: []}",
			"iis_profiles:\n  nmsiis: {classify: {reject_phrases: [RECORD REJECTED]}}\n",
			func(d *channels.IISDestinationConfig) string {
				if d.Classify.RejectPhrases == nil || len(d.Classify.RejectPhrases) != 0 {
					return fmt.Sprintf("reject phrases %q, want the rule off (empty)", d.Classify.RejectPhrases)
				}
				return ""
			}},
		{"password from the profile when the destination has none", "registry: shared\nusername: u",
			"iis_profiles:\n  shared: {username: other, password: from-profile}\n",
			func(d *channels.IISDestinationConfig) string {
				return wantEq(d.Username+" "+d.Password.Reveal(), "u from-profile")
			}},
		{"the destination's password wins", "registry: shared\npassword: mine",
			"iis_profiles:\n  shared: {password: from-profile}\n",
			func(d *channels.IISDestinationConfig) string { return wantEq(d.Password.Reveal(), "mine") }},
		{"hub settings of the destination with the izgateway profile", "registry: izgateway\nprofile: {hub_destination_id: dex-ZZ}", "",
			func(d *channels.IISDestinationConfig) string {
				return wantEq(d.Profile, soap.Profile{WSDL: soap.WSDLHub, HubDestinationID: "dex-ZZ"})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := parseIIS(t, iisConfig(tc.dest, tc.top))
			if msg := tc.check(d); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestRegistryExplicitDefaultValue: a value the destination writes wins
// over its profile even when it equals the field's zero value.
func TestRegistryExplicitDefaultValue(t *testing.T) {
	tests := []struct {
		name, dest string
		check      func(d *channels.IISDestinationConfig) string
	}{
		{"explicit version 1.2 over a 1.1 profile", "registry: cdc-2011-soap11\nprofile: {version: \"1.2\"}",
			func(d *channels.IISDestinationConfig) string { return wantEq(d.Profile.Version, soap.SOAP12) }},
		{"explicit fallback_11 false over cdc-2011-any", "registry: cdc-2011-any\nprofile: {fallback_11: false}",
			func(d *channels.IISDestinationConfig) string { return wantEq(d.Profile.Fallback11, false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, d := parseIIS(t, iisConfig(tc.dest, ""))
			if msg := tc.check(d); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// wantEq describes a mismatch of got and w, or returns "" when equal.
func wantEq[T comparable](got, w T) string {
	if got != w {
		return fmt.Sprintf("got %v, want %v", got, w)
	}
	return ""
}

// TestRegistryErrors: an unknown profile is reported at its path with the
// known names, and a profile's settings are validated where they are used.
func TestRegistryErrors(t *testing.T) {
	tests := []struct {
		name, dest, top, want string
	}{
		{"unknown profile", "registry: nope", "",
			`channels[0].destinations[0].iis.registry: unknown registry profile "nope" (known: ` + strings.Join(builtinNames, ", ") + ")"},
		{"unknown profile lists the file's own", "registry: nope", "iis_profiles:\n  my-state: {timeout: 5s}\n",
			`channels[0].destinations[0].iis.registry: unknown registry profile "nope" (known: cdc-2011, cdc-2011-any, cdc-2011-soap11, cdc-2014, izgateway, my-state, sandbox)`},
		{"izgateway needs a destination id", "registry: izgateway", "",
			"channels[0].destinations[0].iis.profile.hub_destination_id: required for the hub WSDL"},
		{"a bad user profile fails where it is used", "registry: broken", "iis_profiles:\n  broken: {profile: {wsdl: \"2099\"}}\n",
			`channels[0].destinations[0].iis.profile.wsdl: must be "2011", "2014" or "hub", got "2099"`},
		{"a profile's unknown key", "registry: broken", "iis_profiles:\n  broken: {timeoutt: 5s}\n",
			"t.yaml:12: field timeoutt not found in type channels.IISDestinationConfig"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := iisConfig(tc.dest, tc.top)
			_, err := ParseWith([]byte(cfg), "t.yaml", t.TempDir(), env(nil))
			want := "t.yaml: invalid configuration:\n" + tc.want
			if err == nil || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

// TestRegistryPasswordNeverPrinted: the destination's and a profile's
// passwords come out of no dump or format verb, and the dump reloads to
// the same settings.
func TestRegistryPasswordNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "iis-password"), canary+"-file\n")
	cfg := iisConfig("registry: mine\nusername: u\npassword: ${file:iis-password}",
		"iis_profiles:\n  mine: {password: \""+canary+"-profile\", profile: {version: \"1.1\"}}\n"+
			"  unused: {password: \""+canary+"-unused\"}\n")
	f, err := ParseWith([]byte(cfg), "t.yaml", dir, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	d := f.Channels[0].Destinations[0].IIS
	if d.Password.Reveal() != canary+"-file" || f.IISProfiles["mine"].Password.Reveal() != canary+"-profile" {
		t.Fatal("passwords not loaded")
	}
	dump, err := f.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"dump": string(dump), "%v": fmt.Sprintf("%v", f), "%+v": fmt.Sprintf("%+v", *f), "%#v": fmt.Sprintf("%#v", *f),
		"destination %+v": fmt.Sprintf("%+v", *d), "profiles %#v": fmt.Sprintf("%#v", f.RegistryProfiles()),
	} {
		if strings.Contains(s, canary) {
			t.Errorf("%s leaks the password", name)
		}
	}
	if n := bytes.Count(dump, []byte("password: <secret>")); n != 3 {
		t.Errorf("dump shows %d passwords as <secret>, want 3 (destination and two profiles):\n%s", n, dump)
	}
	if !bytes.Contains(dump, []byte("version: \"1.1\"")) && !bytes.Contains(dump, []byte("version: 1.1")) {
		t.Errorf("dump does not show the profile's SOAP version 1.1:\n%s", dump)
	}
	g, err := Parse(dump, "dump.yaml", dir)
	if err != nil {
		t.Fatalf("the dump does not load: %v", err)
	}
	e := g.Channels[0].Destinations[0].IIS
	if e.Registry != "mine" || e.Profile != d.Profile || e.Username != "u" || e.URL != d.URL {
		t.Errorf("dump reloads as %+v, want %+v", e.ClientConfig, d.ClientConfig)
	}
}

// TestSandboxSection: defaults and validation of sandbox:.
func TestSandboxSection(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		f, err := Parse([]byte(base+"sandbox: {cert_dir: ./var/sandbox}\n"), "t.yaml", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if s := f.Sandbox; s == nil || s.HTTPSAddr != DefaultSandboxHTTPSAddr || s.HTTPAddr != "" || s.CertDir != "./var/sandbox" {
			t.Errorf("sandbox %+v", s)
		}
	})
	t.Run("off by default", func(t *testing.T) {
		f, err := Parse([]byte(base), "t.yaml", t.TempDir())
		if err != nil || f.Sandbox != nil {
			t.Fatalf("sandbox %+v err %v", f.Sandbox, err)
		}
	})
	t.Run("full", func(t *testing.T) {
		f, err := Parse([]byte(base+`sandbox:
  https_addr: 127.0.0.1:9443
  http_addr: 127.0.0.1:9080
  cert_dir: certs
  users: {demo: "`+canary+`"}
  facilities:
    "*": {unavailable: 1, delay: 10ms}
    LOCKED: {fault: security}
    SLOW: {z32_for_z44: true, ae_with_data: true, batch_wrap: true, warnings_as_ae: true}
`), "t.yaml", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s := f.Sandbox
		if s.HTTPSAddr != "127.0.0.1:9443" || s.HTTPAddr != "127.0.0.1:9080" || s.Users["demo"].Reveal() != canary ||
			s.Facilities["*"].Unavailable != 1 || s.Facilities["*"].Delay != 10*time.Millisecond ||
			s.Facilities["LOCKED"].Fault != "security" || !s.Facilities["SLOW"].BatchWrap || !s.Facilities["SLOW"].WarningsAsAE {
			t.Errorf("sandbox %+v", s)
		}
		dump, err := f.Dump()
		if err != nil || bytes.Contains(dump, []byte(canary)) {
			t.Errorf("dump (err %v) leaks the sandbox user's password", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		_, err := Parse([]byte(base+`sandbox:
  https_addr: "8443"
  http_addr: nowhere
  facilities:
    X: {fault: boom, unavailable: -1}
`), "t.yaml", t.TempDir())
		want := `t.yaml: invalid configuration:
sandbox.https_addr: must be host:port, got "8443"
sandbox.http_addr: must be host:port, got "nowhere"
sandbox.cert_dir: required (where the self-signed certificate is kept)
sandbox.facilities.X.fault: must be security, unknown, toolarge or unsupported, got "boom"
sandbox.facilities.X: unavailable and delay must not be negative`
		if err == nil || err.Error() != want {
			t.Errorf("error:\n%v\nwant:\n%s", err, want)
		}
	})
}

// TestSandboxErrorsStable: the problems of several facilities come out in
// the same order every time, so the error text can be pinned.
func TestSandboxErrorsStable(t *testing.T) {
	cfg := []byte(base + "sandbox:\n  cert_dir: x\n  facilities:\n    A: {fault: a}\n    B: {fault: b}\n    C: {fault: c}\n    D: {fault: d}\n")
	seen := map[string]bool{}
	for range 20 {
		_, err := Parse(cfg, "t.yaml", t.TempDir())
		if err == nil {
			t.Fatal("no error")
		}
		seen[err.Error()] = true
	}
	if len(seen) != 1 {
		t.Errorf("%d different error texts in 20 parses of the same file", len(seen))
	}
}

// TestDemoRegistry: the demo configuration parses with its iis destination
// on the sandbox profile, trusting the certificate its sandbox section
// makes.
func TestDemoRegistry(t *testing.T) {
	f, err := Parse(Demo(), "demo.yaml", ".")
	if err != nil {
		t.Fatal(err)
	}
	if f.Sandbox == nil {
		t.Fatal("demo has no sandbox section")
	}
	var d *channels.IISDestinationConfig
	for _, dest := range f.Channels[0].Destinations {
		if dest.IIS != nil {
			d = dest.IIS
		}
	}
	if d == nil {
		t.Fatal("demo has no iis destination")
	}
	_, port, _ := strings.Cut(f.Sandbox.HTTPSAddr, ":")
	for _, c := range []struct{ what, got, want string }{
		{"registry", d.Registry, "sandbox"},
		{"profile", fmt.Sprint(d.Profile), fmt.Sprint(soap.Profile{WSDL: soap.WSDL2011, Version: soap.SOAP12})},
		{"url host", strings.Split(strings.TrimPrefix(d.URL, "https://"), "/")[0], f.Sandbox.HTTPSAddr},
		{"ca_file", filepath.Clean(d.CAFile), filepath.Join(f.Sandbox.CertDir, "cert.pem")},
		{"sandbox https_addr", f.Sandbox.HTTPSAddr, "127.0.0.1:8443"},
		{"sandbox port", port, "8443"},
		{"password", d.Password.Reveal(), "demo"},
		{"reject phrases", fmt.Sprint(d.Classify.RejectPhrases), fmt.Sprint(iis.DefaultRules().RejectPhrases)},
	} {
		if c.got != c.want {
			t.Errorf("demo %s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if err := f.Validate(); err != nil {
		t.Errorf("Validate of the demo: %v", err)
	}
	dump, err := f.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dump, []byte("password: <secret>")) || bytes.Contains(dump, []byte("password: demo")) {
		t.Errorf("demo dump shows the password")
	}
}
