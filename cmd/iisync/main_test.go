package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iisync/iisync/gateway/mllp/mllptest"
	// Renamed: golden is this package's own helper, defined below.
	goldenfile "github.com/iisync/iisync/internal/golden"
	"github.com/iisync/iisync/internal/phitest"
)

// result is what one in-process run of the command printed.
type result struct {
	code           int
	stdout, stderr string
}

// iisync runs the command in-process, as a user would from the shell.
func iisync(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(t.Context(), &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, args)
	return result{code, out.String(), errb.String()}
}

// testConfig is what a test varies of the engine's configuration.
type testConfig struct {
	maxFrame int    // max_frame_bytes of the MLLP source; default 1 MiB
	logLevel string // default debug
	token    string // api.token
	tls      *mllptest.PKI
	// extraChannel is appended verbatim under channels: (YAML, indented two spaces).
	extraChannel string
}

// engine is an in-process `iisync serve -c FILE` on loopback ports: one
// channel "vxu-in" from an MLLP source to a file destination "archive".
type engine struct {
	addr       string // the MLLP source
	api        string // http://host:port of the console
	dir        string // the test's data: store, keys, outbox, config
	outbox     string // the file destination's directory
	configFile string
	log        *phitest.LogBuffer
	run        *running
	hup        chan os.Signal // what runServe feeds SIGHUP into
	stop       func() int
}

// writeConfig writes the engine's YAML for tc into dir and returns its path.
func writeConfig(t *testing.T, dir string, mllpPort int, tc testConfig) string {
	t.Helper()
	if tc.maxFrame == 0 {
		tc.maxFrame = 1 << 20
	}
	if tc.logLevel == "" {
		tc.logLevel = "debug"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "storage:\n  path: %s\n", filepath.Join(dir, "store"))
	fmt.Fprintf(&b, "security:\n  patient_ref_key_file: %s\n  create_keys: true\n", filepath.Join(dir, "patient.key"))
	fmt.Fprintf(&b, "api:\n  addr: 127.0.0.1:0\n")
	if tc.token != "" {
		fmt.Fprintf(&b, "  token: %s\n", tc.token)
	}
	fmt.Fprintf(&b, "log:\n  level: %s\n  format: json\n", tc.logLevel)
	fmt.Fprintf(&b, "shutdown_grace: 5s\n")
	fmt.Fprintf(&b, "channels:\n  - name: vxu-in\n    source:\n      mllp:\n        addr: 127.0.0.1:%d\n        max_frame_bytes: %d\n", mllpPort, tc.maxFrame)
	if p := tc.tls; p != nil {
		fmt.Fprintf(&b, "        tls:\n          cert_file: %s\n          key_file: %s\n          ca_file: %s\n          client_auth: true\n", p.ServerCert, p.ServerKey, p.CAFile)
	}
	fmt.Fprintf(&b, "    destinations:\n      - name: archive\n        file:\n          dir: %s\n", filepath.Join(dir, "outbox"))
	b.WriteString(tc.extraChannel)
	p := filepath.Join(dir, "iisync.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startEngine(t *testing.T, tc testConfig) *engine {
	t.Helper()
	dir := t.TempDir()
	e := &engine{dir: dir, outbox: filepath.Join(dir, "outbox")}
	e.configFile = writeConfig(t, dir, 0, tc) // MLLP on 127.0.0.1:0
	boot(t, e)
	return e
}

// restartEngine starts serve again on a stopped engine's configuration and data.
func restartEngine(t *testing.T, old *engine) *engine {
	t.Helper()
	e := &engine{dir: old.dir, outbox: old.outbox, configFile: old.configFile}
	boot(t, e)
	return e
}

// boot runs serve -c e.configFile in-process until the test ends.
func boot(t *testing.T, e *engine) {
	t.Helper()
	ready := make(chan *running, 1)
	e.hup = make(chan os.Signal, 1)
	e.log = &phitest.LogBuffer{}
	o := serveOptions{configFile: e.configFile, ready: func(r *running) { ready <- r }, reload: e.hup}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, &env{stdin: strings.NewReader(""), stdout: e.log, stderr: e.log}, o) }()
	select {
	case e.run = <-ready:
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, e.log.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("serve did not start listening")
	}
	e.api = "http://" + e.run.APIAddr
	e.addr = mllpAddr(t, e.run, e.run.Engine.Channels()[0].Name) // the first channel (vxu-in in most tests)
	var once sync.Once
	var code int
	e.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { e.stop() })
}

// mllpAddr is the bound address of a channel's MLLP source.
func mllpAddr(t testing.TB, r *running, channel string) string {
	t.Helper()
	for _, c := range r.Engine.Channels() {
		if c.Name == channel && c.Source == "mllp" {
			return c.Address
		}
	}
	t.Fatalf("channel %s has no MLLP source", channel)
	return ""
}

// messages runs `iisync messages SUB --api <engine> ARGS...`.
func (e *engine) messages(t *testing.T, sub string, args ...string) result {
	t.Helper()
	return iisync(t, "", append([]string{"messages", sub, "--api", e.api}, args...)...)
}

// controlIDs lists the stored messages' control IDs, oldest first, via the API.
func (e *engine) controlIDs(t *testing.T, args ...string) []string {
	t.Helper()
	r := e.messages(t, "list", args...)
	if r.code != 0 {
		t.Fatalf("messages list: exit %d: %s", r.code, r.stderr)
	}
	var ids []string
	for line := range strings.Lines(r.stdout) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) < 4 {
			t.Fatalf("messages list line %q", line)
		}
		ids = append(ids, f[3])
	}
	slices.Reverse(ids)
	return ids
}

// noCanaries fails if a PHI canary appears in the server log.
func (e *engine) noCanaries(t *testing.T) {
	t.Helper()
	for _, canary := range []string{"ZZTEST", "PAT123", "20200101"} {
		if strings.Contains(e.log.String(), canary) {
			t.Errorf("server log leaks %s:\n%s", canary, e.log)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name), []byte(got))
}

func TestUsageAndUnknownCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no args", nil, 2, "usage: iisync"},
		{"unknown", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"inspect without files", []string{"inspect"}, 2, "usage: iisync inspect"},
		{"send without --to", []string{"send", "x.hl7"}, 2, "usage: iisync send"},
		{"send cert without key", []string{"send", "--to", "127.0.0.1:1", "--cert", "c.pem", "x.hl7"}, 2, "--cert and --key go together"},
		{"inspect bad path", []string{"inspect", "--get", "PID-x", "x.hl7"}, 2, "--get PID-x"},
		{"serve with an argument", []string{"serve", "extra"}, 2, "usage: iisync serve"},
		{"serve missing config", []string{"serve", "-c", "/nonexistent/iisync.yaml"}, 2, "nonexistent"},
		{"messages without subcommand", []string{"messages"}, 2, "usage: iisync messages"},
		{"messages unknown subcommand", []string{"messages", "frob"}, 2, `unknown subcommand "frob"`},
		{"messages show without ID", []string{"messages", "show"}, 2, "usage: iisync messages show"},
		{"messages show bad ID", []string{"messages", "show", "abc"}, 2, "positive integer"},
		{"messages bad api URL", []string{"messages", "list", "--api", "ftp://x"}, 2, "--api must be an http(s) URL"},
		{"messages API down", []string{"messages", "list", "--api", "http://127.0.0.1:1"}, 1, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := iisync(t, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
				t.Errorf("code %d stderr %q; want %d containing %q", r.code, r.stderr, tc.code, tc.err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := iisync(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "iisync ") {
		t.Fatalf("version: %+v", r)
	}
}
