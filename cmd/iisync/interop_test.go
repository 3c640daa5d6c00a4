package main

// Interop tests against third-party MLLP peers that nobody on this project
// wrote (../shared/peers: python3-hl7, simple-hl7, node-hl7-server/-client).
// They run when the peers are installed (.ci/run installs them into
// $IISYNC_PEERS) and skip with a message otherwise.

import (
	"github.com/iisync/iisync/internal/peertest"

	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// peersDir returns the installed peers folder or skips the test.
func peersDir(t *testing.T) string {
	t.Helper()
	return peertest.Dir(t, "simple-hl7/node_modules")
}

func needCommand(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("peer tool %s not installed: %v", name, err)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPeerServer runs a peer's server script and waits until it accepts.
func startPeerServer(t *testing.T, port int, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("peer server %v did not start: %s", args, out.String())
}

// peerMessages are the peers' own five synthetic VXUs.
func peerMessages(t *testing.T, dir string) (file string, ids []string) {
	file = filepath.Join(dir, "data", "vxu-5.hl7")
	for i := 1; i <= 5; i++ {
		ids = append(ids, fmt.Sprintf("MSG%06d", i))
	}
	return file, ids
}

func countMSH(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(strings.ReplaceAll(string(b), "\r", "\n")) {
		if strings.HasPrefix(line, "MSH|") {
			n++
		}
	}
	return n
}

func TestInteropSendToPeerServers(t *testing.T) {
	dir := peersDir(t)
	file, ids := peerMessages(t, dir)
	tests := []struct {
		name string
		tool string
		args func(port int, out string) []string
	}{
		{"python3-hl7", "/usr/bin/python3", func(port int, out string) []string {
			return []string{filepath.Join(dir, "py-hl7", "mllp_ack_server.py"), "--port", fmt.Sprint(port), "--out", out, "--quiet"}
		}},
		{"simple-hl7", "node", func(port int, out string) []string {
			return []string{filepath.Join(dir, "simple-hl7", "server.js"), "--port", fmt.Sprint(port), "--out", out, "--quiet"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needCommand(t, tc.tool)
			port, out := freePort(t), filepath.Join(t.TempDir(), "received.hl7")
			startPeerServer(t, port, tc.tool, tc.args(port, out)...)
			r := iisync(t, "", "send", "--to", fmt.Sprintf("127.0.0.1:%d", port), "--ack-timeout", "10s", file)
			if r.code != 0 {
				t.Fatalf("send exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			var want strings.Builder
			for _, id := range ids {
				want.WriteString(id + "\tAA\tno ERR\n")
			}
			if r.stdout != want.String() {
				t.Errorf("send printed\n%s\nwant\n%s", r.stdout, want.String())
			}
			if n := countMSH(t, out); n != len(ids) {
				t.Errorf("peer stored %d messages, want %d", n, len(ids))
			}
		})
	}
}

// TestInteropStaleACKsAreErrors uses node-hl7-server 2.5.0, whose known bug
// (Bugs5382/node-hl7-server#102) answers the 2nd message on a connection
// with the 1st message's ACK: iisync send must call that an error, never AA.
func TestInteropStaleACKsAreErrors(t *testing.T) {
	dir := peersDir(t)
	needCommand(t, "node")
	file, ids := peerMessages(t, dir)
	port := freePort(t)
	startPeerServer(t, port, "node", filepath.Join(dir, "node-hl7", "server.js"), "--port", fmt.Sprint(port), "--quiet")
	r := iisync(t, "", "send", "--to", fmt.Sprintf("127.0.0.1:%d", port), "--ack-timeout", "3s", file)
	if r.code != 1 {
		t.Fatalf("send exit %d, want 1 (stale ACKs must fail)\n%s", r.code, r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != len(ids) || lines[0] != ids[0]+"\tAA\tno ERR" {
		t.Fatalf("first message should be AA, got:\n%s", r.stdout)
	}
	if !strings.HasPrefix(lines[1], ids[1]+"\tERROR\t") {
		t.Errorf("second message answered with a stale ACK must be an error, got %q", lines[1])
	}
}

func TestInteropPeerClientsToListener(t *testing.T) {
	dir := peersDir(t)
	file, ids := peerMessages(t, dir)
	tests := []struct {
		name string
		tool string
		args func(port string) []string
		acks func(stdout string) int // how many AA ACKs with a matching MSA-2 the client printed
	}{
		{"mllp_send (python3-hl7)", "/usr/bin/mllp_send", func(port string) []string {
			return []string{"--loose", "-p", port, "-f", file, "127.0.0.1"}
		}, func(out string) int { return countAA(out, ids) }},
		{"node-hl7-client", "node", func(port string) []string {
			return []string{filepath.Join(dir, "node-hl7", "client.js"), port, file}
		}, func(out string) int { return countAA(out, ids) }},
		{"node-hl7-client new connection each", "node", func(port string) []string {
			return []string{filepath.Join(dir, "node-hl7", "client.js"), port, file, "--new-conn"}
		}, func(out string) int { return countAA(out, ids) }},
		{"simple-hl7 client", "node", func(port string) []string {
			return []string{filepath.Join(dir, "simple-hl7", "client.js"), port, file}
		}, func(out string) int { return countAA(out, ids) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needCommand(t, tc.tool)
			eng := startEngine(t, testConfig{logLevel: "info"})
			_, port, _ := net.SplitHostPort(eng.addr)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, tc.tool, tc.args(port)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s\nserver log:\n%s", tc.name, err, out, eng.log)
			}
			if n := tc.acks(string(out)); n != len(ids) {
				t.Errorf("client saw %d matching AA ACKs, want %d:\n%s", n, len(ids), out)
			}
			if got := eng.controlIDs(t); !slices.Equal(got, ids) {
				t.Errorf("store holds %q, want %q", got, ids)
			}
			eng.stop()
			eng.noCanaries(t)
		})
	}
}

// countAA counts printed ACKs whose MSA is AA and whose MSA-2 is one of ids, in order.
func countAA(out string, ids []string) int {
	n := 0
	out = strings.NewReplacer("\r", "\n", "\x0b", "", "\x1c", "").Replace(out)
	for line := range strings.Lines(out) {
		if n < len(ids) && strings.HasPrefix(strings.TrimSpace(line), "MSA|AA|"+ids[n]) {
			n++
		}
	}
	return n
}
