// Package peertest finds the third-party test peers (../shared/peers,
// installed by its install.sh into $IISYNC_PEERS, default
// /var/tmp/iisync-peers) for the interop tests, and runs their node
// scripts. Tests that need a peer that is not installed skip with a message
// saying how to install it; under -short they skip too. For tests only.
package peertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// DefaultDir is where the peers are looked for without $IISYNC_PEERS.
const DefaultDir = "/var/tmp/iisync-peers"

// Dir returns the peers' folder when every one of files (relative to it)
// is installed, and skips the test otherwise.
func Dir(t testing.TB, files ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("interop tests skip under -short (they start peer processes)")
	}
	dir := os.Getenv("IISYNC_PEERS")
	if dir == "" {
		dir = DefaultDir
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Skipf("interop: peer file %s is missing: install the peers with ../shared/peers/install.sh %s (or set IISYNC_PEERS)", filepath.Join(dir, f), dir)
		}
	}
	return dir
}

// Node returns the node binary, or skips the test.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("interop: node is not on PATH; the peers need Node.js (../shared/peers/README.md)")
	}
	return node
}

// RunNode runs node script args in dir (bounded to 30 s) and returns its
// exit code, standard output and standard error. A failure to start fails
// the test.
func RunNode(t testing.TB, dir, script string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Node(t), append([]string{script}, args...)...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("node %s: %v", script, err)
	}
	return code, out.String(), errb.String()
}

// JSONLines decodes output holding one JSON object per line (the peers'
// --json mode) into Ts; a line that is not one fails the test.
func JSONLines[T any](t testing.TB, output string) []T {
	t.Helper()
	var out []T
	for _, line := range bytes.Split(bytes.TrimSpace([]byte(output)), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("peer printed %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}
