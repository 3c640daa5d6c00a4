package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/channels/store"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/console"
	"github.com/iisync/iisync/internal/phitest"
)

// vxu is a synthetic message with the project's PHI canaries (ZZTEST…,
// MRN PAT123, DOB 20200101).
func vxu(controlID, mrn string) string {
	return "MSH|^~\\&|EHR|CLINIC|IIS|STATE|20250101120000-0500||VXU^V04^VXU_V04|" + controlID + "|P|2.5.1|||ER|AL|||||Z22^CDCPHINVS\r" +
		"PID|1||" + mrn + "^^^CLINIC^MR||ZZTEST^ZZTESTGIVEN^^^^^L||20200101|F\r" +
		"ORC|RE||9999^CLINIC\r" +
		"RXA|0|1|20250101||08^Hep B^CVX|999||01^Historical^NIP001||||||||||CP|A\r"
}

var patientKey = bytes.Repeat([]byte{7}, 32)

// fixture is a real store in a temp dir, a real engine with one HTTP-source
// channel to a file destination, and the console on a loopback listener,
// all sharing one mux as in iisync serve.
type fixture struct {
	url  string
	eng  *channels.Engine
	st   *store.Store
	logs *phitest.LogBuffer
	srv  *console.Server
}

func newFixture(t *testing.T, token string, start bool) *fixture {
	t.Helper()
	return newFixtureWith(t, token, start, func(dir string) channels.ChannelConfig {
		return channels.ChannelConfig{
			Destinations: []channels.DestinationConfig{{
				Name: "archive", File: &channels.FileDestinationConfig{Dir: filepath.Join(dir, "out")},
			}},
		}
	})
}

// newFixtureWith is newFixture with the channel's destinations and return
// from channel(dir) (its name and HTTP source are set here).
func newFixtureWith(t *testing.T, token string, start bool, channel func(dir string) channels.ChannelConfig) *fixture {
	t.Helper()
	dir := t.TempDir()
	logs := &phitest.LogBuffer{}
	log := zerolog.New(logs)
	st, err := store.Open(store.Config{Path: filepath.Join(dir, "store"), CreateKey: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	mux := http.NewServeMux()
	ch := channel(dir)
	ch.Name, ch.Source = "vxu-in", channels.SourceConfig{HTTP: &channels.HTTPSourceConfig{}}
	cfg := channels.Config{Channels: []channels.ChannelConfig{ch}}.WithDefaults()
	eng, err := channels.New(cfg, st, log, channels.Options{PatientKey: patientKey, Registerer: reg, HTTPMux: mux})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := console.New(console.Config{Addr: "127.0.0.1:0", Token: field.NewSecret(token)}, eng, reg, mux, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	f := &fixture{url: "http://" + ln.Addr().String(), eng: eng, st: st, logs: logs, srv: srv}
	if start {
		if err := eng.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
		if err := eng.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		_ = st.Close()
		for _, canary := range []string{"ZZTEST", "PAT123", "20200101"} {
			if strings.Contains(logs.String(), canary) {
				t.Errorf("log leaks %s:\n%s", canary, logs)
			}
		}
	})
	return f
}

// post sends messages through the channel's HTTP source (on the same mux).
func (f *fixture) post(t *testing.T, msg string) {
	t.Helper()
	resp, err := http.Post(f.url+"/channels/vxu-in/messages", "x-application/hl7-v2+er7", strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "MSA|AA|") {
		t.Fatalf("HTTP source: %s %q", resp.Status, b)
	}
}

// call does one request and decodes a JSON answer into out (when non-nil).
func (f *fixture) call(t *testing.T, method, path, token, body string, out any) (int, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Iisync-User", "jdoe")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(path, "/api/") && resp.StatusCode != http.StatusMethodNotAllowed && ct != "application/json" {
		t.Errorf("%s %s: content type %q", method, path, ct)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func TestProbes(t *testing.T) {
	f := newFixture(t, "", false)
	var body map[string]string
	if code, _ := f.call(t, "GET", "/healthz", "", "", &body); code != 200 || body["status"] != "ok" {
		t.Errorf("healthz: %d %v", code, body)
	}
	if code, _ := f.call(t, "GET", "/readyz", "", "", &body); code != 503 {
		t.Errorf("readyz before Start: %d %v", code, body)
	}
	if err := f.eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.call(t, "GET", "/readyz", "", "", &body); code != 200 || body["status"] != "ready" {
		t.Errorf("readyz after Start: %d %v", code, body)
	}
	f.post(t, vxu("M-1", "PAT123"))
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `iisync_messages_received_total{channel="vxu-in",source="http"} 1`) {
		t.Errorf("metrics: %d\n%s", resp.StatusCode, b)
	}
	if err := f.eng.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.call(t, "GET", "/readyz", "", "", &body); code != 503 {
		t.Errorf("readyz after Shutdown: %d %v", code, body)
	}
	// The store still answers searches; actions get 503.
	var l console.MessageList
	if code, _ := f.call(t, "GET", "/api/messages", "", "", &l); code != 200 || len(l.Messages) != 1 {
		t.Fatalf("list after engine shutdown: %d %+v", code, l)
	}
	path := "/api/messages/" + strconv.FormatUint(uint64(l.Messages[0].ID), 10)
	for _, action := range []string{"/reprocess", "/resend"} {
		if code, _ := f.call(t, "POST", path+action, "", "", &body); code != 503 {
			t.Errorf("%s after engine shutdown: %d %v", action, code, body)
		}
	}
}

func TestMessagesAPI(t *testing.T) {
	f := newFixture(t, "", true)
	f.post(t, vxu("M-1", "PAT123"))
	f.post(t, vxu("M-2", "PAT456"))
	f.post(t, vxu("M-3", "PAT123"))

	var chans console.ChannelList
	if code, _ := f.call(t, "GET", "/api/channels", "", "", &chans); code != 200 || len(chans.Channels) != 1 ||
		chans.Channels[0].Name != "vxu-in" || chans.Channels[0].Source != "http" || chans.Channels[0].Destinations[0].Name != "archive" {
		t.Errorf("channels: %d %+v", code, chans)
	}

	list := func(query string) []string {
		t.Helper()
		var l console.MessageList
		if code, _ := f.call(t, "GET", "/api/messages"+query, "", "", &l); code != 200 {
			t.Fatalf("list%s: %d", query, code)
		}
		var ids []string
		for _, m := range l.Messages {
			ids = append(ids, m.ControlID)
		}
		return ids
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", "M-3 M-2 M-1"},
		{"?control_id=M-2", "M-2"},
		{"?patient=PAT123", "M-3 M-1"},
		{"?patient=NOBODY", ""},
		{"?channel=vxu-in&type=VXU&sender=CLINIC", "M-3 M-2 M-1"},
		{"?channel=other", ""},
		{"?limit=2", "M-3 M-2"},
		{"?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z", "M-3 M-2 M-1"},
		{"?until=2000-01-01T00:00:00Z", ""},
		{"?status=errored", ""},
	}
	for _, tc := range tests {
		t.Run("list"+tc.query, func(t *testing.T) {
			if got := strings.Join(list(tc.query), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Paging: next_after fetches the rest.
	var page console.MessageList
	f.call(t, "GET", "/api/messages?limit=2", "", "", &page)
	if page.NextAfter == 0 {
		t.Fatal("a full page has no next_after")
	}
	if got := list("?after=" + strconv.FormatUint(uint64(page.NextAfter), 10)); strings.Join(got, " ") != "M-1" {
		t.Errorf("second page: %q", got)
	}

	bad := []string{"?bogus=1", "?status=nope", "?since=yesterday", "?limit=0", "?limit=5000", "?after=-1", "?control_id=a&control_id=b",
		"?since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z"}
	for _, q := range bad {
		var e map[string]string
		if code, _ := f.call(t, "GET", "/api/messages"+q, "", "", &e); code != 400 || e["error"] == "" {
			t.Errorf("%s: %d %v, want 400 with an error", q, code, e)
		}
	}
	var e map[string]string
	f.call(t, "GET", "/api/messages?patient=PAT123&limit=x", "", "", &e)
	if strings.Contains(e["error"], "PAT123") {
		t.Errorf("error echoes the MRN: %q", e["error"])
	}

	// The summary carries no content; the record does, and is audited.
	var l console.MessageList
	f.call(t, "GET", "/api/messages?control_id=M-1", "", "", &l)
	id := l.Messages[0].ID
	if l.Messages[0].PatientRef == "" || len(l.Messages[0].Deliveries) != 1 {
		t.Errorf("summary: %+v", l.Messages[0])
	}
	raw, _ := json.Marshal(l)
	if strings.Contains(string(raw), "ZZTEST") || strings.Contains(string(raw), "PAT123") {
		t.Errorf("summary holds content: %s", raw)
	}
	idPath := "/api/messages/" + strconv.FormatUint(uint64(id), 10)
	var rec console.Record
	if code, h := f.call(t, "GET", idPath, "", "", &rec); code != 200 || strings.TrimRight(rec.Raw, "\r") != strings.TrimRight(vxu("M-1", "PAT123"), "\r") || h.Get("Cache-Control") != "no-store" {
		t.Errorf("record: %d %q %q", code, rec.Raw, h.Get("Cache-Control"))
	}
	audit := f.logs.String()
	if !strings.Contains(audit, `"message":"phi accessed"`) || !strings.Contains(audit, `"message_id":`+strconv.FormatUint(uint64(id), 10)) ||
		!strings.Contains(audit, `"claimed_user":"jdoe"`) || !strings.Contains(audit, `"remote_addr":"127.0.0.1:`) {
		t.Errorf("no audit line:\n%s", audit)
	}

	errs := []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/api/messages/999999", "", 404},
		{"GET", "/api/messages/abc", "", 400},
		{"GET", "/api/messages/0", "", 400},
		{"POST", "/api/messages/999999/reprocess", "", 404},
		{"POST", idPath + "/reprocess", "garbage", 400},
		{"POST", idPath + "/resend", `{"destinations": ["nowhere"]}`, 400},
		{"POST", idPath + "/resend", `{"destinations": "archive"}`, 400},
		{"POST", idPath + "/resend", `{"dests": []}`, 400},
		{"POST", idPath + "/resend", `{"destinations": ["` + strings.Repeat("x", 70<<10) + `"]}`, 413},
		{"POST", idPath + "/reprocess", strings.Repeat("x", 70<<10), 413},
		{"POST", "/api/messages/999999/resend", "", 404},
	}
	for _, tc := range errs {
		var e map[string]string
		if code, _ := f.call(t, tc.method, tc.path, "", tc.body, &e); code != tc.code || e["error"] == "" {
			t.Errorf("%s %s: %d %v, want %d", tc.method, tc.path, code, e, tc.code)
		}
	}
	if code, _ := f.call(t, "DELETE", idPath, "", "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", code)
	}

	var rp console.IDResponse
	if code, _ := f.call(t, "POST", idPath+"/reprocess", "", "", &rp); code != 200 || rp.ID == 0 || rp.ID == id {
		t.Errorf("reprocess: %d %+v", code, rp)
	}
	if got := list("?control_id=M-1"); len(got) != 2 {
		t.Errorf("after reprocess M-1 is stored %d times", len(got))
	}
	var rs console.ResendResponse
	if code, _ := f.call(t, "POST", idPath+"/resend", "", `{"destinations": ["archive"]}`, &rs); code != 202 || rs.Status != "queued" {
		t.Errorf("resend: %d %+v", code, rs)
	}
	if code, _ := f.call(t, "POST", idPath+"/resend", "", "", &rs); code != 202 {
		t.Errorf("resend to all: %d %+v", code, rs)
	}
}

func TestToken(t *testing.T) {
	const token = "tok-0123456789abcdef"
	f := newFixture(t, token, true)
	tests := []struct {
		name, path, auth string
		code             int
	}{
		{"no token", "/api/messages", "", 401},
		{"wrong token", "/api/messages", "Bearer nope", 401},
		{"token prefix", "/api/messages", "Bearer " + token[:5], 401},
		{"basic scheme", "/api/channels", "Basic " + token, 401},
		{"right token", "/api/messages", "Bearer " + token, 200},
		{"lowercase scheme", "/api/channels", "bearer " + token, 200},
		{"healthz open", "/healthz", "", 200},
		{"metrics open", "/metrics", "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", f.url+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.code {
				t.Errorf("%d, want %d", resp.StatusCode, tc.code)
			}
			if tc.code == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	if strings.Contains(f.logs.String(), token) {
		t.Error("log leaks the token")
	}
	// A reload may change or drop the token.
	f.srv.SetToken(field.NewSecret("new-token"))
	if code, _ := f.call(t, "GET", "/api/channels", token, "", nil); code != 401 {
		t.Errorf("old token after SetToken: %d", code)
	}
	if code, _ := f.call(t, "GET", "/api/channels", "new-token", "", nil); code != 200 {
		t.Errorf("new token after SetToken: %d", code)
	}
	f.srv.SetToken(field.Secret{})
	if code, _ := f.call(t, "GET", "/api/channels", "", "", nil); code != 200 {
		t.Errorf("no token after SetToken(empty): %d", code)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (console.Config{Addr: "8080"}).Validate(); err == nil || !strings.Contains(err.Error(), "addr") {
		t.Errorf("bad addr: %v", err)
	}
	if c := (console.Config{}).WithDefaults(); c.Addr != console.DefaultAddr {
		t.Errorf("default addr %q", c.Addr)
	}
}
