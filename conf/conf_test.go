package conf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// canary is the secret every redaction test plants.
const canary = "hunter2"

// env is a LookupEnv over a map, so tests need not touch the process.
func env(m map[string]string) Options {
	return Options{LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func TestLoadBad(t *testing.T) {
	tests := []struct {
		file string
		env  map[string]string
		want string
	}{
		{"bad-unknown-key.yaml", nil, `testdata/bad-unknown-key.yaml: invalid configuration:
testdata/bad-unknown-key.yaml:13: field mode not found in type channels.FileDestinationConfig`},
		{"bad-wrong-type.yaml", nil, "testdata/bad-wrong-type.yaml: invalid configuration:\n" +
			"testdata/bad-wrong-type.yaml:5: cannot unmarshal !!str `soon` into time.Duration\n" +
			"testdata/bad-wrong-type.yaml:11: cannot unmarshal !!str `many` into int"},
		{"bad-syntax.yaml", nil, `testdata/bad-syntax.yaml: invalid configuration:
testdata/bad-syntax.yaml:2: did not find expected key`},
		{"bad-several.yaml", nil, `testdata/bad-several.yaml: invalid configuration:
storage.key_file: required unless create_key is set
storage.cache_mb: must be 8..65536, got 1
security.patient_ref_key_file: required (a file holding the HMAC key for patient_ref)
api.addr: must be host:port, got "localhost"
log.level: must be trace, debug, info, warn or error, got "verbose"
log.format: must be json or console, got "text"
channels[0].source.mllp.addr: must be host:port, got "2575"
channels[1].name: "vxu-state" already used by channels[0]
channels[1].filter.on_reject: must be AA, AE or AR, got "NAK"
channels[1].destinations: at least one destination is required`},
		{"bad-dup-include.yaml", nil, `testdata/bad-dup-include.yaml: invalid configuration:
channels[1].name: "vxu-state" already used by channels[0] (channels[1] is in testdata/bad-dup-include.d/dup.yaml)`},
		{"bad-include-key.yaml", nil, `testdata/bad-include-key.yaml: invalid configuration:
testdata/bad-include-key.d/extra.yaml:1: field storage not found in an include file (it holds a channels: list only)
include[1]: "missing.d/*.yaml" matches no file`},
		{"bad-listeners.yaml", nil, `testdata/bad-listeners.yaml: invalid configuration:
security.patient_ref_key_file: must not be storage.key_file, got "keys/same.key" for both
channels[0].source.mllp.addr: "127.0.0.1:3001" already used by api.addr
channels[2].source.mllp.addr: "127.0.0.1:3002" already used by channels[1].source.mllp.addr
channels[4].source.http.path: "/api/messages" is reserved for the API`},
		{"bad-references.yaml", map[string]string{"IISYNC_TEST_ADDR": canary, "IISYNC_TEST_CANARY": canary}, `testdata/bad-references.yaml: invalid configuration:
testdata/bad-references.yaml:2: ${file:no-such-secret}: stat testdata/no-such-secret: no such file or directory
testdata/bad-references.yaml:4: ${env:IISYNC_TEST_UNSET}: environment variable not set
testdata/bad-references.yaml:7: unknown reference ${vault:secret/api}: use ${env:NAME} or ${file:PATH} (write $${ for a literal ${)
testdata/bad-references.yaml:7: ${env:bad-name}: invalid environment variable name
testdata/bad-references.yaml:9: unterminated reference: "${" without "}" (write $${ for a literal ${)
testdata/bad-references.yaml:13: cannot unmarshal !!str (a resolved reference) into int
storage.key_file: required unless create_key is set
security.patient_ref_key_file: required (a file holding the HMAC key for patient_ref)
api.addr: must be host:port, got "<redacted>"`},
		{"bad-steps.yaml", nil, `testdata/bad-steps.yaml: invalid configuration:
channels[0].transforms[0]: must set exactly one of set, copy, delete, map, drop_segment, move, default, replace, date, upper, ascii, split, merge, add_segment, move_segment, facility, ndc_to_cvx, script (got 2)
channels[0].transforms[1].copy.to: required
channels[0].filter.expr: unexpected token EOF (1:7)`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := LoadWith(filepath.Join("testdata", tc.file), env(tc.env))
			if err == nil {
				t.Fatalf("loaded %+v, want an error", f)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tc.want)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("error leaks the canary secret")
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != filepath.Join("testdata", tc.file) {
				t.Errorf("error is %T, want *conf.Error for the file", err)
			}
		})
	}
}

// Validation problems stay *field.Error values behind *Error, so a caller
// (the console) can list them by path.
func TestErrorPaths(t *testing.T) {
	_, err := Load("testdata/bad-several.yaml")
	var paths []string
	for _, e := range err.(*Error).Problems {
		var fe *field.Error
		if errors.As(e, &fe) {
			paths = append(paths, fe.Path)
		}
	}
	want := "storage.key_file storage.cache_mb security.patient_ref_key_file api.addr log.level log.format " +
		"channels[0].source.mllp.addr channels[1].name channels[1].filter.on_reject channels[1].destinations"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("paths %s\nwant  %s", got, want)
	}
}

func TestLoadGood(t *testing.T) {
	tests := []struct {
		file  string
		names []string
	}{
		{"good-minimal.yaml", []string{"min"}},
		{"good-include.yaml", []string{"main", "from-a", "from-a2", "from-b"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := Load(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, ch := range f.Engine().Channels {
				names = append(names, ch.Name)
			}
			if !reflect.DeepEqual(names, tc.names) {
				t.Errorf("channels %v, want %v", names, tc.names)
			}
			if err := f.Validate(); err != nil {
				t.Errorf("Validate of a loaded file: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	f, err := Load("testdata/good-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ch := f.Channels[0]
	tests := []struct {
		field string
		got   any
		want  any
	}{
		{"storage.path", f.Storage.Path, "./var/store"},
		{"storage.create_key", f.Storage.CreateKey, false},
		{"storage.retention.content", f.Storage.Retention.Content, 720 * time.Hour},
		{"storage.retention.metadata", f.Storage.Retention.Metadata, 2160 * time.Hour},
		{"storage.prune_interval", f.Storage.PruneInterval, time.Hour},
		{"storage.cache_mb", f.Storage.CacheMB, 64},
		{"security.create_keys", f.Security.CreateKeys, false},
		{"api.addr", f.API.Addr, "127.0.0.1:8080"},
		{"api.token", f.API.Token.IsZero(), true},
		{"log.level", f.Log.Level, "info"},
		{"log.format", f.Log.Format, "json"},
		{"shutdown_grace", f.ShutdownGrace, 30 * time.Second},
		{"channels[0].enabled", ch.IsEnabled(), true},
		{"channels[0].source.mllp.addr", ch.Source.MLLP.Addr, "127.0.0.1:2575"},
		{"channels[0].source.mllp.max_frame_bytes", ch.Source.MLLP.MaxFrameBytes, 1 << 20},
		{"channels[0].source.mllp.max_conns", ch.Source.MLLP.MaxConns, 256},
		{"channels[0].source.mllp.idle_timeout", ch.Source.MLLP.IdleTimeout, 5 * time.Minute},
		{"channels[0].filter.on_reject", ch.Filter.OnReject, "AA"},
		{"channels[0].dedupe_window", ch.DedupeWindow, 24 * time.Hour},
		{"channels[0].retry.initial_backoff", ch.Retry.InitialBackoff, time.Second},
		{"channels[0].retry.max_backoff", ch.Retry.MaxBackoff, 5 * time.Minute},
		{"channels[0].retry.max_attempts", ch.Retry.MaxAttempts, 20},
		{"channels[0].retry.max_age", ch.Retry.MaxAge, 72 * time.Hour},
		{"channels[0].return", ch.Return == nil, true},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.field, tc.got, tc.want)
		}
	}

	// create_keys sets storage.create_key, whose key file then defaults
	// next to the store.
	g := File{Security: SecurityConfig{CreateKeys: true}}.WithDefaults()
	if !g.Storage.CreateKey || g.Storage.KeyFile != "var/store.key" {
		t.Errorf("create_keys: create_key %v key_file %q", g.Storage.CreateKey, g.Storage.KeyFile)
	}
	// WithDefaults is idempotent.
	if h := f.WithDefaults(); !reflect.DeepEqual(h, *f) {
		t.Errorf("WithDefaults twice changed the file")
	}
}

// base is a valid configuration; expansion cases append to it.
const base = `storage: {key_file: store.key}
security: {patient_ref_key_file: ref.key}
channels:
  - name: c
    source: {mllp: {addr: "127.0.0.1:3001"}}
    destinations: [{name: d, file: {dir: out}}]
`

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "token"), "s3cret-token\n")
	write(t, filepath.Join(dir, "level"), "debug\r\n")
	vars := map[string]string{"ADDR": "127.0.0.1:9090", "CONNS": "12", "EMPTY": "", "NULLISH": "null"}
	tests := []struct {
		name  string
		yaml  string
		check func(f *File) string
		err   string // the whole error when not ""
	}{
		{"env in a plain scalar", base + "api: {addr: \"${env:ADDR}\"}\n", func(f *File) string { return f.API.Addr }, ""},
		{"env resolves to an int", strings.Replace(base, `addr: "127.0.0.1:3001"`, `addr: "127.0.0.1:3001", max_conns: "${env:CONNS}"`, 1),
			func(f *File) string { return fmt.Sprint(f.Channels[0].Source.MLLP.MaxConns) }, ""},
		{"file relative to the config dir, newline trimmed", base + "api:\n  token: ${file:token}\n",
			func(f *File) string { return f.API.Token.Reveal() }, ""},
		{"file CRLF trimmed", base + "log: {level: \"${file:level}\"}\n", func(f *File) string { return f.Log.Level }, ""},
		{"absolute file path", base + "api: {token: \"${file:" + filepath.Join(dir, "token") + "}\"}\n",
			func(f *File) string { return f.API.Token.Reveal() }, ""},
		{"text around references", base + "api: {token: \"Bearer ${file:token}/${env:CONNS}\"}\n",
			func(f *File) string { return f.API.Token.Reveal() }, ""},
		{"$${ escapes", base + "api: {token: \"$${env:ADDR} $$ $\"}\n", func(f *File) string { return f.API.Token.Reveal() }, ""},
		{"empty value", base + "api: {token: \"${env:EMPTY}\"}\n", func(f *File) string { return "[" + f.API.Token.Reveal() + "]" }, ""},
		{"null-looking value stays a string", base + "api:\n  token: ${env:NULLISH}\n", func(f *File) string { return f.API.Token.Reveal() }, ""},
		{"keys are not expanded", base + "api:\n  ${env:ADDR}: x\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:8: field ${env:ADDR} not found in type conf.APIConfig"},
		{"unknown key next to a reference keeps its line", base + "api:\n  token: ${env:ADDR}\n  tokn: x\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:9: field tokn not found in type conf.APIConfig"},
		{"duplicate key reported once", base + "log: {level: info, level: debug}\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:7: mapping key \"level\" already defined at line 7"},
		{"missing file", base + "api: {token: \"${file:nope}\"}\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:7: ${file:nope}: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"not a regular file", base + "api: {token: \"${file:.}\"}\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:7: ${file:.}: " + dir + ": not a regular file"},
		{"unset env", base + "api:\n  token: ${env:NOPE}\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:8: ${env:NOPE}: environment variable not set"},
		{"empty file reference", base + "api: {token: \"${file:}\"}\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:7: ${file:}: empty path"},
		{"two documents", base + "---\nlog: {}\n", nil,
			"t.yaml: invalid configuration:\nt.yaml:7: only one YAML document is allowed"},
	}
	want := map[string]string{
		"env in a plain scalar": "127.0.0.1:9090", "env resolves to an int": "12",
		"file relative to the config dir, newline trimmed": "s3cret-token", "file CRLF trimmed": "debug",
		"absolute file path": "s3cret-token", "text around references": "Bearer s3cret-token/12",
		"$${ escapes": "${env:ADDR} $$ $", "empty value": "[]", "null-looking value stays a string": "null",
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseWith([]byte(tc.yaml), "t.yaml", dir, env(vars))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(f); got != want[tc.name] {
				t.Errorf("got %q, want %q", got, want[tc.name])
			}
		})
	}
}

func TestProcessEnv(t *testing.T) {
	t.Setenv("IISYNC_TEST_LEVEL", "warn")
	f, err := Parse([]byte(base+"log:\n  level: ${env:IISYNC_TEST_LEVEL}\n"), "t.yaml", t.TempDir())
	if err != nil || f.Log.Level != "warn" {
		t.Fatalf("level %v, err %v", f, err)
	}
}

// The canary secret reaches the configuration through every route and must
// come out of no dump, format verb or error.
func TestSecretsNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "auth"), "Bearer "+canary+"\n")
	vars := map[string]string{"TOKEN": canary}
	good := `storage: {key_file: store.key}
security: {patient_ref_key_file: ref.key}
api: {token: "${env:TOKEN}"}
channels:
  - name: c
    source: {mllp: {addr: "127.0.0.1:3001"}}
    destinations:
      - name: h
        http: {url: "https://hie.example.org/v2", authorization: "${file:auth}"}
`
	f, err := ParseWith([]byte(good), "t.yaml", dir, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if f.API.Token.Reveal() != canary || f.Channels[0].Destinations[0].HTTP.Authorization.Reveal() != "Bearer "+canary {
		t.Fatal("secrets not loaded")
	}
	dump, err := f.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"dump": string(dump), "%v": fmt.Sprintf("%v", f), "%+v": fmt.Sprintf("%+v", *f), "%#v": fmt.Sprintf("%#v", *f),
	} {
		if strings.Contains(s, canary) {
			t.Errorf("%s leaks the canary:\n%s", name, s)
		}
	}
	if !bytes.Contains(dump, []byte("token: <secret>")) || !bytes.Contains(dump, []byte("authorization: <secret>")) {
		t.Errorf("dump does not show the secrets as <secret>:\n%s", dump)
	}

	// The canary in fields that print their values, or do not take it.
	bad := base + `api: {addr: "${env:TOKEN}", token: "${env:TOKEN}"}
log: {level: "x${env:TOKEN}x", format: "${env:TOKEN}"}
shutdown_grace: ${env:TOKEN}
storage: {cache_mb: "${file:auth}"}
`
	bad = strings.Replace(bad, "storage: {key_file: store.key}\n", "", 1)
	_, err = ParseWith([]byte(bad), "t.yaml", dir, env(vars))
	if err == nil {
		t.Fatal("no error")
	}
	want := `t.yaml: invalid configuration:
t.yaml:8: cannot unmarshal !!str (a resolved reference) into time.Duration
t.yaml:9: cannot unmarshal !!str (a resolved reference) into int
storage.key_file: required unless create_key is set
api.addr: must be host:port, got "<redacted>"
log.level: must be trace, debug, info, warn or error, got "x<redacted>x"
log.format: must be json or console, got "<redacted>"`
	if err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestDumpRoundTrip(t *testing.T) {
	f, err := Load("testdata/good-include.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d1, err := f.Dump()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"include", "null", "mllp: null", "token: <secret>"} {
		if bytes.Contains(d1, []byte(s)) {
			t.Errorf("dump holds %q:\n%s", s, d1)
		}
	}
	g, err := Parse(d1, "dump.yaml", "testdata")
	if err != nil {
		t.Fatalf("the dump does not load: %v\n%s", err, d1)
	}
	d2, _ := g.Dump()
	if !bytes.Equal(d1, d2) {
		t.Errorf("dump changed on reload:\n%s\nthen:\n%s", d1, d2)
	}
}

func TestReloadableFrom(t *testing.T) {
	old, err := Load("testdata/good-include.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(f *File)
		want   string
	}{
		{"nothing", func(*File) {}, ""},
		{"channels", func(f *File) { f.Channels = f.Channels[:1]; f.Channels[0].Filter.Expr = `type == "VXU"` }, ""},
		{"token, level, grace", func(f *File) {
			f.API.Token = field.NewSecret("new")
			f.Log.Level = "debug"
			f.ShutdownGrace = time.Minute
		}, ""},
		{"storage path", func(f *File) { f.Storage.Path = "/elsewhere" }, "reload not supported for storage.path"},
		{"storage retention and key", func(f *File) {
			f.Storage.Retention.Content = time.Hour
			f.Storage.KeyFile = "other.key"
		}, "reload not supported for storage.key_file\nreload not supported for storage.retention.content"},
		{"security", func(f *File) {
			f.Security.PatientRefKeyFile = "other.key"
			f.Security.CreateKeys = true
		}, "reload not supported for storage.create_key\nreload not supported for security.patient_ref_key_file\nreload not supported for security.create_keys"},
		{"api addr and log format", func(f *File) { f.API.Addr = "127.0.0.1:9999"; f.Log.Format = "console" },
			"reload not supported for api.addr\nreload not supported for log.format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nf := old.WithDefaults()
			nf.Channels = append(nf.Channels[:0:0], nf.Channels...)
			tc.change(&nf)
			err := nf.ReloadableFrom(*old)
			got := ""
			if err != nil {
				got = err.Error()
				var re *ReloadError
				if !errors.As(err, &re) {
					t.Errorf("%T is not a *ReloadError", err)
				}
			}
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	file, err := os.ReadFile("examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Demo(), file) {
		t.Fatal("Demo() differs from examples/demo.yaml")
	}
	f, err := Parse(Demo(), "demo.yaml", ".")
	if err != nil {
		t.Fatal(err)
	}
	ch := f.Channels[0]
	for _, c := range []struct{ what, got, want string }{
		{"api.addr", f.API.Addr, "127.0.0.1:8080"},
		{"listener", ch.Source.MLLP.Addr, "127.0.0.1:2575"},
		{"return", ch.Return.MLLP.Addr, "127.0.0.1:2576"},
		{"storage.path", f.Storage.Path, "./var/store"},
		{"storage.key_file", f.Storage.KeyFile, "./var/store.key"},
		{"patient_ref_key_file", f.Security.PatientRefKeyFile, "./var/patient-ref.key"},
		{"registry url", ch.Destinations[0].IIS.URL, "https://127.0.0.1:8443/IISService"},
		{"registry ca", ch.Destinations[0].IIS.CAFile, "./var/sandbox/cert.pem"},
		{"sandbox", f.Sandbox.HTTPSAddr, "127.0.0.1:8443"},
		{"sandbox cert_dir", f.Sandbox.CertDir, "./var/sandbox"},
		{"create_key", fmt.Sprint(f.Storage.CreateKey), "true"},
	} {
		if c.got != c.want {
			t.Errorf("demo %s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// HospitalSecrets writes the secret files hospital.yaml reads into a copy
// of conf/examples and returns the copy's hospital.yaml and its env.
func hospitalCopy(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"hospital.yaml", "channels.d/clinic-batch.yaml", "channels.d/pharmacy-vxu.yaml", "tables/facilities.csv"} {
		b, err := os.ReadFile(filepath.Join("examples", name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), string(b))
	}
	write(t, filepath.Join(dir, "secrets/api-token"), canary+"-api\n")
	return filepath.Join(dir, "hospital.yaml"), map[string]string{"DOWNSTREAM_TOKEN": "Bearer " + canary, "IIS_PASSWORD": canary + "-iis"}
}

func TestHospitalExample(t *testing.T) {
	path, vars := hospitalCopy(t)
	f, err := LoadWith(path, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ch := range f.Channels {
		names = append(names, ch.Name)
	}
	if got := strings.Join(names, " "); got != "ehr-vxu clinic-batch pharmacy-vxu" {
		t.Errorf("channels %s", got)
	}
	if f.Storage.CreateKey || f.Security.CreateKeys {
		t.Error("the production example must not create keys")
	}
	if !f.Channels[0].Source.MLLP.TLS.ClientAuth {
		t.Error("the EHR listener must require client certificates")
	}
	d, err := f.Dump()
	if err != nil || bytes.Contains(d, []byte(canary)) {
		t.Errorf("dump leaks the canary (err %v):\n%s", err, d)
	}

	// Without its secrets the example fails on exactly those references.
	_, err = Load("examples/hospital.yaml")
	want := `examples/hospital.yaml: invalid configuration:
examples/hospital.yaml:42: ${file:secrets/api-token}: stat examples/secrets/api-token: no such file or directory
examples/hospital.yaml:113: ${env:IIS_PASSWORD}: environment variable not set
examples/channels.d/clinic-batch.yaml:22: ${env:DOWNSTREAM_TOKEN}: environment variable not set
examples/channels.d/pharmacy-vxu.yaml:22: ${env:DOWNSTREAM_TOKEN}: environment variable not set`
	if os.Getenv("DOWNSTREAM_TOKEN") == "" && os.Getenv("IIS_PASSWORD") == "" && (err == nil || err.Error() != want) {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestValidateZero(t *testing.T) {
	err := File{}.WithDefaults().Validate()
	want := `storage.key_file: required unless create_key is set
security.patient_ref_key_file: required (a file holding the HMAC key for patient_ref)
channels: at least one channel is required`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "examples/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(base + "api: {token: ${env:X}$${file:y}${file:}${"))
	f.Add([]byte("a: &a [*a, *a]\nchannels: *a\n"))
	dir := f.TempDir()
	write(f, filepath.Join(dir, "s"), "v\n")
	o := env(map[string]string{"X": "1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseWith(data, "fuzz.yaml", dir, o)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("cfg %v with err %v", cfg, err)
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T %v is not a *conf.Error with problems", err, err)
			}
			return
		}
		if _, err := cfg.Dump(); err != nil {
			t.Fatalf("dump: %v", err)
		}
	})
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
