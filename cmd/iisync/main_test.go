package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

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

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// engine is an in-process `iisync serve` on a loopback port.
type engine struct {
	addr    string
	dataDir string
	log     *syncBuffer
	stop    func() int
}

func startEngine(t *testing.T, o serveOptions) *engine {
	t.Helper()
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.maxFrame == 0 {
		o.maxFrame = 1 << 20
	}
	if o.logLevel == "" {
		o.logLevel = "debug"
	}
	if o.shutdownIn == 0 {
		o.shutdownIn = 5 * time.Second
	}
	ready := make(chan net.Addr, 1)
	o.ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- serve(ctx, &env{stdin: strings.NewReader(""), stdout: logs, stderr: logs}, o) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening:\n%s", code, logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("serve did not start listening")
	}
	var once sync.Once
	var code int
	e := &engine{addr: addr.String(), dataDir: o.dataDir, log: logs}
	e.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { e.stop() })
	return e
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden (run with -update and review the diff)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
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
