package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iisync/iisync/transforms/hl7"
)

// sampleVXUs are public synthetic VXUs (testdata/SOURCES.md).
func sampleVXUs(t *testing.T) (files []string, ids []string) {
	t.Helper()
	files, err := filepath.Glob("../../testdata/messages/nist-onc2015/vxu_*.hl7")
	if err != nil || len(files) < 3 {
		t.Fatalf("sample VXUs: %v (%d files)", err, len(files))
	}
	files = files[:3]
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := hl7.Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		ids = append(ids, m.ControlID())
	}
	return files, ids
}

// waitDelivered polls `messages list` until every listed message is
// delivered (sent or accepted) and returns the final listing.
func (e *engine) waitDelivered(t *testing.T, n int) []string {
	t.Helper()
	var lines []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := e.messages(t, "list")
		if r.code != 0 {
			t.Fatalf("messages list: %d %s", r.code, r.stderr)
		}
		lines = strings.Split(strings.TrimSpace(r.stdout), "\n")
		done := len(lines) == n
		for _, l := range lines {
			f := strings.Split(l, "\t")
			if len(f) < 7 || (f[5] != "sent" && f[5] != "accepted") {
				done = false
			}
		}
		if done {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages not delivered in time:\n%s\nserver log:\n%s", r.stdout, e.log)
		}
	}
}

// TestEndToEndSendListShow sends sample VXUs with `iisync send`, sees them
// stored and delivered to the file destination with `iisync messages list`,
// reads one back with `messages show`, and reprocesses and resends it.
func TestEndToEndSendListShow(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skips under -short")
	}
	eng := startEngine(t, testConfig{logLevel: "info"})
	files, ids := sampleVXUs(t)
	r := iisync(t, "", append([]string{"send", "--to", eng.addr}, files...)...)
	if r.code != 0 {
		t.Fatalf("send: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := eng.waitDelivered(t, len(ids))
	var firstID string
	for i, l := range lines {
		f := strings.Split(l, "\t")
		// id, received, channel, control ID, type, status, destinations
		want := ids[len(ids)-1-i] // newest first
		if f[2] != "vxu-in" || f[3] != want || !strings.HasPrefix(f[4], "VXU^V04") || f[6] != "archive=sent" {
			t.Errorf("line %d: %q, want channel vxu-in, control ID %s, a VXU, delivered to archive", i, l, want)
		}
		if _, err := time.Parse(time.RFC3339, f[1]); err != nil {
			t.Errorf("line %d: received %q: %v", i, f[1], err)
		}
		if f[3] == ids[0] {
			firstID = f[0]
		}
	}
	out, err := os.ReadDir(eng.outbox)
	if err != nil || len(out) != len(ids) {
		t.Fatalf("outbox holds %d files (%v), want %d", len(out), err, len(ids))
	}

	// Filters reach the store: by control ID, by status, by type.
	if got := eng.controlIDs(t, "--control-id", ids[1]); !slices.Equal(got, ids[1:2]) {
		t.Errorf("--control-id %s: %q", ids[1], got)
	}
	if got := eng.controlIDs(t, "--status", "dead_lettered"); len(got) != 0 {
		t.Errorf("--status dead_lettered: %q", got)
	}
	if got := eng.controlIDs(t, "--type", "VXU", "--channel", "vxu-in"); len(got) != len(ids) {
		t.Errorf("--type VXU --channel vxu-in: %q", got)
	}

	// show --raw gives back exactly what was sent (segments one per line).
	raw := eng.messages(t, "show", "--raw", firstID)
	want, _ := os.ReadFile(files[0])
	norm := func(s string) string {
		return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"))
	}
	if raw.code != 0 || norm(raw.stdout) != norm(string(want)) {
		t.Errorf("show --raw: exit %d %s\n%s\nwant\n%s", raw.code, raw.stderr, raw.stdout, want)
	}
	show := eng.messages(t, "show", firstID)
	if show.code != 0 || !strings.Contains(show.stdout, "control id:  "+ids[0]) || !strings.Contains(show.stdout, "--- raw") {
		t.Errorf("show: exit %d\n%s%s", show.code, show.stdout, show.stderr)
	}
	if !strings.Contains(eng.log.String(), `"message":"phi accessed"`) || !strings.Contains(eng.log.String(), `"message_id":`+firstID) {
		t.Errorf("no audit line for the show:\n%s", eng.log)
	}

	// reprocess makes a new message; resend queues the old one again.
	rp := eng.messages(t, "reprocess", firstID)
	if rp.code != 0 || strings.TrimSpace(rp.stdout) == firstID {
		t.Fatalf("reprocess: exit %d %q %s", rp.code, rp.stdout, rp.stderr)
	}
	rs := eng.messages(t, "resend", "--dest", "archive", firstID)
	if rs.code != 0 || rs.stdout != firstID+"\tqueued\n" {
		t.Errorf("resend: exit %d %q %s", rs.code, rs.stdout, rs.stderr)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, _ := os.ReadDir(eng.outbox); len(out) >= len(ids)+2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reprocess and resend did not reach the outbox:\n%s", eng.log)
		}
	}
	if nf := eng.messages(t, "show", "999999"); nf.code != 1 || !strings.Contains(nf.stderr, "404") {
		t.Errorf("show of a missing id: exit %d %q", nf.code, nf.stderr)
	}
	if code := eng.stop(); code != 0 {
		t.Errorf("serve exited %d:\n%s", code, eng.log)
	}
}

// TestReload does what SIGHUP does: a new channel is applied live; a
// change that needs a restart, or a broken file, is rejected and the
// running configuration keeps working.
func TestReload(t *testing.T) {
	if testing.Short() {
		t.Skip("reload test skips under -short")
	}
	eng := startEngine(t, testConfig{})
	port2 := freePort(t)
	extra := fmt.Sprintf("  - name: vxu-two\n    source:\n      mllp:\n        addr: 127.0.0.1:%d\n"+
		"    destinations:\n      - name: copy\n        file:\n          dir: %s\n", port2, filepath.Join(eng.dir, "outbox2"))
	writeConfig(t, eng.dir, 0, testConfig{extraChannel: extra})
	if err := eng.run.Reload(t.Context()); err != nil {
		t.Fatalf("reload: %v\n%s", err, eng.log)
	}
	f := writeFile(t, "m.hl7", canaryVXU)
	if r := iisync(t, "", "send", "--to", fmt.Sprintf("127.0.0.1:%d", port2), f); r.code != 0 {
		t.Fatalf("send to the reloaded channel: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if got := eng.controlIDs(t, "--channel", "vxu-two"); !slices.Equal(got, []string{"CANARY-1"}) {
		t.Errorf("vxu-two holds %q", got)
	}
	var chans map[string][]map[string]any
	getJSON(t, eng.api+"/api/channels", "", &chans)
	if len(chans["channels"]) != 2 {
		t.Errorf("/api/channels after reload: %v", chans)
	}
	if m := metric(t, eng.api, "iisync_config_last_reload_successful"); m != "1" {
		t.Errorf("reload gauge %q after a good reload, want 1", m)
	}

	// storage.path cannot change live.
	cfg, err := os.ReadFile(eng.configFile)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(cfg), filepath.Join(eng.dir, "store"), filepath.Join(eng.dir, "store2"), 1)
	if err := os.WriteFile(eng.configFile, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	err = eng.run.Reload(t.Context())
	if err == nil || !strings.Contains(err.Error(), "reload not supported for storage.path") {
		t.Errorf("reload with a new storage.path: %v", err)
	}
	if m := metric(t, eng.api, "iisync_config_last_reload_successful"); m != "0" {
		t.Errorf("reload gauge %q after a rejected reload, want 0", m)
	}
	// A broken file is rejected too.
	if err := os.WriteFile(eng.configFile, []byte("channels: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := eng.run.Reload(t.Context()); err == nil {
		t.Error("reload of a broken file succeeded")
	}
	if n := strings.Count(eng.log.String(), `"message":"reload rejected"`); n != 2 {
		t.Errorf("%d reload rejected lines, want 2:\n%s", n, eng.log)
	}
	// The running configuration still works, both channels.
	f2 := writeFile(t, "m2.hl7", strings.Replace(canaryVXU, "CANARY-1", "CANARY-2", 1))
	for _, addr := range []string{eng.addr, fmt.Sprintf("127.0.0.1:%d", port2)} {
		if r := iisync(t, "", "send", "--to", addr, f2); r.code != 0 {
			t.Errorf("send to %s after rejected reloads: %d %s", addr, r.code, r.stdout)
		}
	}
	// The reload channel (SIGHUP in runServe) reaches the same function:
	// with the good file back, it applies, and api.token and log.level
	// reload with the channels.
	const token = "reloaded-token-0123456789"
	writeConfig(t, eng.dir, 0, testConfig{extraChannel: extra, token: token, logLevel: "warn"})
	eng.hup <- syscall.SIGHUP
	for deadline := time.Now().Add(10 * time.Second); metric(t, eng.api, "iisync_config_last_reload_successful") != "1"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP reload not applied:\n%s", eng.log)
		}
	}
	t.Setenv("IISYNC_API_TOKEN", "")
	for deadline := time.Now().Add(10 * time.Second); eng.messages(t, "list").code != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reloaded api.token is not required")
		}
	}
	if r := eng.messages(t, "list", "--token", token); r.code != 0 {
		t.Errorf("list with the reloaded token: %d %s", r.code, r.stderr)
	}
	f3 := writeFile(t, "m3.hl7", strings.Replace(canaryVXU, "CANARY-1", "CANARY-3", 1))
	if r := iisync(t, "", "send", "--to", eng.addr, f3); r.code != 0 {
		t.Fatalf("send after the SIGHUP reload: %d %s", r.code, r.stdout)
	}
	if strings.Contains(eng.log.String(), "CANARY-3") {
		t.Errorf("info lines logged after log.level was reloaded to warn:\n%s", eng.log)
	}
	if code := eng.stop(); code != 0 {
		t.Errorf("serve exited %d:\n%s", code, eng.log)
	}
	eng.noCanaries(t)
}

// TestAPIToken: with api.token set, /api/ needs the bearer token; the
// probes and /metrics do not.
func TestAPIToken(t *testing.T) {
	const token = "s3cret-test-token-0123456789"
	eng := startEngine(t, testConfig{token: token})
	f := writeFile(t, "m.hl7", canaryVXU)
	if r := iisync(t, "", "send", "--to", eng.addr, f); r.code != 0 {
		t.Fatalf("send: %d %s", r.code, r.stdout)
	}
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no token", nil, 1, "401"},
		{"wrong token", []string{"--token", "wrong"}, 1, "401"},
		{"right token", []string{"--token", token}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("IISYNC_API_TOKEN", "")
			r := eng.messages(t, "list", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.err) {
				t.Errorf("exit %d stderr %q; want %d %q", r.code, r.stderr, tc.code, tc.err)
			}
			if tc.code == 0 && !strings.Contains(r.stdout, "CANARY-1") {
				t.Errorf("list: %q", r.stdout)
			}
		})
	}
	t.Run("token from the environment", func(t *testing.T) {
		t.Setenv("IISYNC_API_TOKEN", token)
		if r := eng.messages(t, "list"); r.code != 0 {
			t.Errorf("exit %d %s", r.code, r.stderr)
		}
	})
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(eng.api + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s without a token: %d", path, resp.StatusCode)
		}
	}
	eng.stop()
	if strings.Contains(eng.log.String(), token) {
		t.Error("server log leaks the API token")
	}
	eng.noCanaries(t)
}

// TestDemoConfigLoads: serve without -c runs the embedded demo config.
func TestDemoConfigLoads(t *testing.T) {
	f, err := loadConfig("")
	if err != nil {
		t.Fatalf("embedded demo config: %v", err)
	}
	if len(f.Engine().Channels) == 0 || f.Security.PatientRefKeyFile == "" {
		t.Errorf("demo config: %d channels, patient key file %q", len(f.Engine().Channels), f.Security.PatientRefKeyFile)
	}
}

func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// metric returns the value of an unlabelled series on /metrics.
func metric(t *testing.T, api, name string) string {
	t.Helper()
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
