package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const checkCanary = "hunter2"

// examplesCopy copies conf/examples into a temp dir with the secrets the
// production example reads, and returns the dir and an env file for them.
func examplesCopy(t *testing.T) (dir, envFile string) {
	t.Helper()
	dir = t.TempDir()
	src := filepath.Join("..", "..", "conf", "examples")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		return writeCheckFile(filepath.Join(dir, rel), string(b))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeCheckFile(filepath.Join(dir, "secrets", "api-token"), checkCanary+"-api\n"); err != nil {
		t.Fatal(err)
	}
	envFile = filepath.Join(t.TempDir(), "iisync.env")
	if err := writeCheckFile(envFile, "# for ${env:} references\nDOWNSTREAM_TOKEN=\"Bearer "+checkCanary+"\"\nIIS_PASSWORD="+checkCanary+"-iis\n"); err != nil {
		t.Fatal(err)
	}
	return dir, envFile
}

func writeCheckFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o600)
}

// TestCheckExamples runs check on every conf/examples/*.yaml (with the
// secrets they reference) and proves it created nothing.
func TestCheckExamples(t *testing.T) {
	dir, envFile := examplesCopy(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) < 2 {
		t.Fatalf("examples: %v", files)
	}
	want := map[string]int{"demo.yaml": 2, "hospital.yaml": 3}
	_, varErr := os.Stat("var")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := iisync(t, "", "check", "-c", file, "--env-file", envFile)
			ok := file + ": ok (" + strconv.Itoa(want[filepath.Base(file)]) + " channels)\n"
			if r.code != 0 || r.stdout != ok || r.stderr != "" {
				t.Errorf("exit %d\nstdout %q (want %q)\nstderr %s", r.code, r.stdout, ok, r.stderr)
			}
		})
	}
	if _, err := os.Stat("var"); varErr != nil && err == nil {
		t.Error("check created ./var")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 { // demo.yaml hospital.yaml channels.d secrets tables tests
		t.Errorf("check wrote into the config dir: %v", entries)
	}
}

func TestCheckDump(t *testing.T) {
	dir, envFile := examplesCopy(t)
	file := filepath.Join(dir, "hospital.yaml")
	r := iisync(t, "", "check", "--dump", "-c", file, "--env-file", envFile)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, checkCanary) {
		t.Errorf("dump leaks the canary:\n%s", r.stdout)
	}
	for _, s := range []string{"token: <secret>", "authorization: <secret>", "name: pharmacy-vxu", "client_auth: true"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("dump lacks %q:\n%s", s, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "include") || r.stderr != file+": ok (3 channels)\n" {
		t.Errorf("stderr %q; dump:\n%s", r.stderr, r.stdout)
	}
}

func TestCheckErrors(t *testing.T) {
	bad := filepath.Join("..", "..", "conf", "testdata", "bad-several.yaml")
	badEnv := filepath.Join(t.TempDir(), "bad.env")
	if err := writeCheckFile(badEnv, "OK=1\nnot a pair "+checkCanary+"\n"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // exact; "" = anything
		substr string
	}{
		{"invalid file", []string{"check", "-c", bad}, 1, bad + `: invalid configuration:
storage.key_file: required unless create_key is set
storage.cache_mb: must be 8..65536, got 1
security.patient_ref_key_file: required (a file holding the HMAC key for patient_ref)
api.addr: must be host:port, got "localhost"
log.level: must be trace, debug, info, warn or error, got "verbose"
log.format: must be json or console, got "text"
channels[0].source.mllp.addr: must be host:port, got "2575"
channels[1].name: "vxu-state" already used by channels[0]
channels[1].filter.on_reject: must be AA, AE or AR, got "NAK"
channels[1].destinations: at least one destination is required
`, ""},
		{"secrets missing", []string{"check", "--config", filepath.Join("..", "..", "conf", "examples", "hospital.yaml")}, 1, "", "${env:DOWNSTREAM_TOKEN}: environment variable not set"},
		{"missing file", []string{"check", "-c", "no-such.yaml"}, 1, "conf: stat no-such.yaml: no such file or directory\n", ""},
		{"no -c", []string{"check"}, 2, "", "usage: iisync check -c FILE"},
		{"extra argument", []string{"check", "-c", bad, "other.yaml"}, 2, "", "usage: iisync check -c FILE"},
		{"bad env file", []string{"check", "-c", bad, "--env-file", badEnv}, 2, "iisync check: --env-file " + badEnv + ":2: want NAME=VALUE\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iisync(t, "", tc.args...)
			if r.code != tc.code || r.stdout != "" {
				t.Errorf("exit %d (want %d), stdout %q", r.code, tc.code, r.stdout)
			}
			if tc.stderr != "" && r.stderr != tc.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, tc.stderr)
			}
			if !strings.Contains(r.stderr, tc.substr) || strings.Contains(r.stderr, checkCanary) {
				t.Errorf("stderr lacks %q or leaks the canary:\n%s", tc.substr, r.stderr)
			}
		})
	}
}

// The env file wins over the process environment.
func TestCheckEnvFilePrecedence(t *testing.T) {
	t.Setenv("IISYNC_CHECK_LEVEL", "verbose")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	envFile := filepath.Join(dir, "c.env")
	if err := writeCheckFile(envFile, "export IISYNC_CHECK_LEVEL='debug'\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeCheckFile(cfg, `storage: {key_file: s.key}
security: {patient_ref_key_file: r.key}
log:
  level: ${env:IISYNC_CHECK_LEVEL}
channels:
  - name: c
    source: {mllp: {addr: "127.0.0.1:0"}}
    destinations: [{name: d, file: {dir: out}}]
`); err != nil {
		t.Fatal(err)
	}
	if r := iisync(t, "", "check", "-c", cfg, "--env-file", envFile); r.code != 0 {
		t.Errorf("with env file: exit %d: %s", r.code, r.stderr)
	}
	if r := iisync(t, "", "check", "-c", cfg); r.code != 1 || !strings.Contains(r.stderr, `log.level: must be trace, debug, info, warn or error, got "<redacted>"`) {
		t.Errorf("without env file: exit %d: %s", r.code, r.stderr)
	}
}
