package console_test

import (
	"context"
	"encoding/pem"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iisync/iisync/channels"
	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/console"
	"github.com/iisync/iisync/gateway/mllp"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/internal/phitest"
)

// pingPassword is the registry credential; no answer or log may hold it.
const pingPassword = "pw-CANARY-ping-9d2"

// pingRegistry is a CDC SOAP registry that echoes connectivity tests and
// answers an echo starting with "fault" with a SecurityFault whose free
// text carries PHI canaries (which must not reach the API answer).
type pingRegistry struct{ pings atomic.Int32 }

func (r *pingRegistry) SubmitSingleMessage(context.Context, soap.SubmitRequest) ([]byte, error) {
	return nil, &soap.Fault{Kind: soap.FaultUnsupportedOperation}
}

func (r *pingRegistry) ConnectivityTest(_ context.Context, echo string) (string, error) {
	r.pings.Add(1)
	if strings.HasPrefix(echo, "fault") {
		return "", &soap.Fault{Kind: soap.FaultSecurity, Code: "soap:Receiver", CDCCode: "401", Reason: "ZZTEST PAT123 20200101 locked", Detail: "ZZTEST"}
	}
	return "echo: " + echo, nil
}

// startRegistry serves reg over HTTPS on loopback and returns its URL and
// a CA file trusting its certificate.
func startRegistry(t *testing.T, reg soap.Handler) (string, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(soap.NewServer(reg, soap.ServerOptions{}))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the untrusted destination's handshake failures
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/IISService", ca
}

// unusedAddr is a loopback address nobody listens on.
func unusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// newPingFixture is newFixture's engine and console with a channel whose
// destinations are an iis registry (trusted, untrusted, down) and a file.
func newPingFixture(t *testing.T, token string) (*fixture, *pingRegistry) {
	t.Helper()
	reg := &pingRegistry{}
	url, ca := startRegistry(t, reg)
	iisDest := func(name, url, ca string) channels.DestinationConfig {
		return channels.DestinationConfig{Name: name, IIS: &channels.IISDestinationConfig{ClientConfig: soap.ClientConfig{
			URL: url, CAFile: ca, Username: "ehr", Password: field.NewSecret(pingPassword), FacilityID: "FAC",
			Timeout: 5 * time.Second, MaxRetries: -1}}}
	}
	f := newFixtureWith(t, token, true, func(dir string) channels.ChannelConfig {
		return channels.ChannelConfig{
			Destinations: []channels.DestinationConfig{
				iisDest("iis", url, ca),
				iisDest("untrusted", url, ""),
				iisDest("down", "https://"+unusedAddr(t)+"/IISService", ""),
				{Name: "archive", File: &channels.FileDestinationConfig{Dir: filepath.Join(dir, "out")}},
			},
			Return: &channels.ReturnConfig{MLLP: mllp.SenderConfig{Addr: unusedAddr(t)}},
		}
	})
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), pingPassword) {
			t.Error("log output holds the registry password")
		}
	})
	return f, reg
}

func TestPing(t *testing.T) {
	f, reg := newPingFixture(t, "")
	const path = "/api/channels/vxu-in/destinations/%s/ping"
	p := func(dest string) string { return strings.Replace(path, "%s", dest, 1) }
	tests := []struct {
		name, path, body string
		code             int
		ok               bool   // for a 200: the registry answered
		echo             string // for ok
		errHas           string // for a 200 with ok false, or the error answer of a 4xx
	}{
		{name: "echo", path: p("iis"), body: `{"echo":"hello registry"}`, code: 200, ok: true, echo: "echo: hello registry"},
		{name: "default echo", path: p("iis"), code: 200, ok: true, echo: "echo: iisync ping"},
		{name: "empty object", path: p("iis"), body: `{}`, code: 200, ok: true, echo: "echo: iisync ping"},
		{name: "echo of 256 bytes", path: p("iis"), body: `{"echo":"` + strings.Repeat("x", 256) + `"}`, code: 200, ok: true,
			echo: "echo: " + strings.Repeat("x", 256)},
		{name: "fault", path: p("iis"), body: `{"echo":"fault please"}`, code: 200, errHas: "SecurityFault"},
		{name: "untrusted certificate", path: p("untrusted"), code: 200, errHas: "certificate"},
		{name: "registry down", path: p("down"), code: 200, errHas: "soap: transport"},
		{name: "echo over 256 bytes", path: p("iis"), body: `{"echo":"` + strings.Repeat("x", 257) + `"}`, code: 400, errHas: "256"},
		{name: "echo over 256 bytes of UTF-8", path: p("iis"), body: `{"echo":"` + strings.Repeat("é", 129) + `"}`, code: 400, errHas: "256"},
		{name: "unknown body field", path: p("iis"), body: `{"echo":"x","extra":1}`, code: 400},
		{name: "not JSON", path: p("iis"), body: `echo`, code: 400},
		{name: "non-iis destination", path: p("archive"), code: 400, errHas: "not an iis destination"},
		{name: "unknown destination", path: p("nope"), code: 404, errHas: "no such destination"},
		{name: "return queue", path: p("return"), code: 404, errHas: "no such destination"},
		{name: "unknown channel", path: "/api/channels/nope/destinations/iis/ping", code: 404, errHas: "no such destination"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			code, _ := f.call(t, "POST", tc.path, "", tc.body, &raw)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, raw)
			}
			s := strings.ToLower(toJSONish(raw))
			phitest.Check(t, "answer", s)
			if strings.Contains(s, strings.ToLower(pingPassword)) {
				t.Error("answer holds the registry password")
			}
			if code != 200 {
				if msg, _ := raw["error"].(string); msg == "" || !strings.Contains(msg, tc.errHas) {
					t.Errorf("error %q, want it to mention %q", msg, tc.errHas)
				}
				return
			}
			var resp console.PingResponse
			f.call(t, "POST", tc.path, "", tc.body, &resp) // again, into the typed answer
			if resp.Channel != "vxu-in" || resp.Destination != strings.Split(strings.TrimPrefix(tc.path, "/api/channels/vxu-in/destinations/"), "/")[0] ||
				resp.OK != tc.ok || resp.Millis < 0 {
				t.Errorf("answer %+v", resp)
			}
			if tc.ok && (resp.Echo != tc.echo || resp.Error != "") {
				t.Errorf("echo %q error %q, want echo %q", resp.Echo, resp.Error, tc.echo)
			}
			if !tc.ok && (resp.Echo != "" || !strings.Contains(resp.Error, tc.errHas)) {
				t.Errorf("echo %q error %q, want an error mentioning %q", resp.Echo, resp.Error, tc.errHas)
			}
			if strings.Contains(resp.Error, "locked") {
				t.Error("the registry's fault text reached the answer")
			}
		})
	}
	// The 4xx requests never reached the registry: 4 OK cases and the
	// fault, each called twice.
	if n := reg.pings.Load(); n != 10 {
		t.Errorf("registry saw %d pings, want 10", n)
	}
}

// toJSONish flattens an answer for canary checks.
func toJSONish(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
		b.WriteString(" ")
	}
	return b.String()
}

func TestPingToken(t *testing.T) {
	const token = "tok-ping-0123456789"
	f, reg := newPingFixture(t, token)
	const path = "/api/channels/vxu-in/destinations/iis/ping"
	tests := []struct {
		name, token string
		code        int
	}{
		{"no token", "", 401},
		{"wrong token", "nope", 401},
		{"right token", token, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if code, h := f.call(t, "POST", path, tc.token, `{"echo":"auth"}`, &body); code != tc.code {
				t.Errorf("status %d, want %d", code, tc.code)
			} else if code == 401 && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tc.code == 200 && body["echo"] != "echo: auth" {
				t.Errorf("answer %v", body)
			}
		})
	}
	if n := reg.pings.Load(); n != 1 {
		t.Errorf("registry saw %d pings, want 1 (only the authorized one)", n)
	}
	// Only POST.
	if code, _ := f.call(t, "GET", path, token, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", code)
	}
}
