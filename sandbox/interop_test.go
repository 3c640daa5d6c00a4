package sandbox

import (
	"github.com/iisync/iisync/internal/peertest"

	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// The sandbox against a SOAP stack nobody here wrote: the node-soap CDC
// WSDL client of the shared peers (client.js). Skips when the peers are
// not installed (CI installs them with ../shared/peers/install.sh).

func soapPeerClient(t *testing.T) (node, dir string) {
	t.Helper()
	root := peertest.Dir(t, "soap-peer/client.js", "soap-peer/node_modules/soap/package.json", "cdc-iis.wsdl")
	return peertest.Node(t), filepath.Join(root, "soap-peer")
}

// peerResult is one line of client.js --json output.
type peerResult struct {
	Op        string `json:"op"`
	ControlID string `json:"controlId"`
	MSA1      string `json:"msa1"`
	OK        bool   `json:"ok"`
	Return    string `json:"return"`
	Error     *struct {
		FaultName string `json:"faultName"`
	} `json:"error"`
}

func runClientJS(t *testing.T, _, dir string, args ...string) (int, []peerResult) {
	t.Helper()
	code, stdout, _ := peertest.RunNode(t, dir, "client.js", append([]string{"--json"}, args...)...)
	return code, peertest.JSONLines[peerResult](t, stdout)
}

// TestInteropPeerClientToSandbox: node-soap's client runs connectivityTest
// and submitSingleMessage against the sandbox over HTTP and over HTTPS
// (trusting the sandbox's self-signed certificate), and gets the
// registry's verdicts on the demo VXUs; wrong credentials get the
// SecurityFault.
func TestInteropPeerClientToSandbox(t *testing.T) {
	node, dir := soapPeerClient(t)
	iis := New(Config{Users: map[string]field.Secret{"peeruser": field.NewSecret("peerpass")}})
	srv, err := Listen(iis, ServerConfig{HTTPSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", CertDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})

	// The demo VXUs, one segment per line, as the peer's file format wants.
	files, err := filepath.Glob("../testdata/demo/[1-4]_*.hl7")
	if err != nil || len(files) != 4 {
		t.Fatalf("demo VXUs: %v (%d)", err, len(files))
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))...)
	}
	msgs := filepath.Join(t.TempDir(), "demo.hl7")
	if err := os.WriteFile(msgs, all, 0o600); err != nil {
		t.Fatal(err)
	}
	auth := []string{"--user", "peeruser", "--password", "peerpass", "--facility", "DEMO-CLINIC"}
	for _, ep := range []struct{ name, url string }{
		{"http", srv.HTTPURL()},
		{"https", srv.HTTPSURL()},
	} {
		t.Run(ep.name, func(t *testing.T) {
			base := []string{"--url", ep.url}
			if ep.name == "https" {
				base = append(base, "--ca", srv.CertFile())
			}
			// The sandbox answers as the NIST test tool expects ("You sent:
			// " + echo); client.js calls only an identical echo ok, so the
			// check is on what came back.
			_, res := runClientJS(t, node, dir, append(base, "connectivity", "hello sandbox")...)
			if len(res) != 1 || res[0].Return != "You sent: hello sandbox" {
				t.Errorf("connectivity: %+v", res)
			}
			iis.Reset()
			_, res = runClientJS(t, node, dir, append(append(base, "submit", msgs), auth...)...)
			want := []string{"AA", "AA", "AE", "AR"}
			if len(res) != len(want) {
				t.Fatalf("submit: %d results, want %d: %+v", len(res), len(want), res)
			}
			for i, r := range res {
				if r.MSA1 != want[i] {
					t.Errorf("%s: MSA-1 %q, want %q", r.ControlID, r.MSA1, want[i])
				}
			}
			code, res := runClientJS(t, node, dir, append(base, "--user", "peeruser", "--password", "wrong", "submit", msgs)...)
			if code == 0 || len(res) == 0 || res[0].Error == nil || res[0].Error.FaultName != "SecurityFault" {
				t.Errorf("wrong password: exit %d, %+v", code, res)
			}
		})
	}
}
