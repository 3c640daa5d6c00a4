package soap

// Interop with the node-soap peers (see the project's peers README §4):
// our Client against the node-soap test IIS (server.js) in every mode, and
// the node-soap client (client.js) against our NewServer. The peers live
// under $IISYNC_PEERS (default /var/tmp/iisync-peers); without them, or
// without node on PATH, or under -short, the tests skip.

import (
	"github.com/iisync/iisync/internal/peertest"

	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/mllp/mllptest"
)

// soapPeer returns the node binary and the soap-peer directory, or skips.
func soapPeer(t *testing.T) (node, dir string) {
	t.Helper()
	root := peertest.Dir(t, "soap-peer/server.js", "soap-peer/client.js", "soap-peer/certs/server.crt",
		"soap-peer/node_modules/soap/package.json", "cdc-iis.wsdl", "common/hl7file.js")
	return peertest.Node(t), filepath.Join(root, "soap-peer")
}

// peerIIS is a running node-soap test IIS.
type peerIIS struct {
	httpURL, httpsURL string // endpoints
	base              string // http://127.0.0.1:port, for /control and /stats
	ca                string // its certificate, to trust
}

// startPeerIIS starts server.js on free loopback ports (port 0) and waits
// until it prints both endpoints. It is stopped (by its pid) when t ends.
func startPeerIIS(t *testing.T, node, dir string, args ...string) *peerIIS {
	t.Helper()
	cmd := exec.Command(node, append([]string{"server.js", "--http-port", "0", "--https-port", "0"}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	p := &peerIIS{ca: filepath.Join(dir, "certs", "server.crt")}
	ready := make(chan error, 2)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if _, rest, ok := strings.Cut(line, ") on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				if strings.HasPrefix(url, "https://") {
					p.httpsURL = url
				} else {
					p.httpURL = url
				}
			}
			if strings.HasPrefix(line, "state: ") {
				ready <- nil
			}
		}
		_, _ = io.Copy(io.Discard, out)
		ready <- errors.New("server.js exited")
		_ = cmd.Wait()
	}()
	select {
	case err := <-ready:
		if err != nil || p.httpURL == "" || p.httpsURL == "" {
			t.Fatalf("node-soap test IIS did not start: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("node-soap test IIS did not start within 15s")
	}
	p.base = p.httpURL[:strings.Index(p.httpURL[len("http://"):], "/")+len("http://")]
	return p
}

// control changes the peer's behaviour (GET /control?query).
func (p *peerIIS) control(t *testing.T, query string) {
	t.Helper()
	resp, err := http.Get(p.base + "/control?" + query)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("control %s: HTTP %d", query, resp.StatusCode)
	}
}

// posts returns the number of POSTs the peer has seen.
func (p *peerIIS) posts(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(p.base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Posts int }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Posts
}

// TestInteropClientToPeerIIS runs our Client against the node-soap test IIS
// in each of its modes and checks the typed outcome and the attempts.
func TestInteropClientToPeerIIS(t *testing.T) {
	node, dir := soapPeer(t)
	p := startPeerIIS(t, node, dir, "--user", "peeruser", "--password", "peerpass")
	cfgFor := func(url string) ClientConfig {
		return ClientConfig{
			URL: url, Username: "peeruser", Password: field.NewSecret("peerpass"), FacilityID: "PEERFAC",
			Timeout: 3 * time.Second, MaxRetries: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond,
		}
	}
	tests := []struct {
		name    string
		control string // /control query before the call ("" = mode=aa)
		edit    func(*ClientConfig)
		https   bool
		check   func(t *testing.T, rep *Reply, err error, posts int)
	}{
		{"http AA", "", nil, false, func(t *testing.T, rep *Reply, err error, posts int) {
			wantAA(t, rep, err, "IA1")
			if rep.Attempts != 1 || posts != 1 {
				t.Errorf("attempts %d, peer saw %d", rep.Attempts, posts)
			}
		}},
		{"https AA", "", func(c *ClientConfig) { c.CAFile = p.ca }, true, func(t *testing.T, rep *Reply, err error, _ int) {
			wantAA(t, rep, err, "IA1")
		}},
		{"https untrusted", "", nil, true, func(t *testing.T, _ *Reply, err error, posts int) {
			var verr *tls.CertificateVerificationError
			if te := asTransport(t, err); !errors.As(err, &verr) || te.Attempts != 1 || posts != 0 {
				t.Errorf("got %v, attempts %d, peer saw %d", err, te.Attempts, posts)
			}
		}},
		{"soap 1.1", "", func(c *ClientConfig) { c.Profile.Version = SOAP11 }, false, func(t *testing.T, rep *Reply, err error, _ int) {
			wantAA(t, rep, err, "IA1") // node-soap answers a 1.1 request in a 1.2 envelope
		}},
		{"AE", "mode=ae", nil, false, func(t *testing.T, rep *Reply, err error, _ int) {
			if err != nil || !bytes.Contains(rep.Message, []byte("\rMSA|AE|IA1\rERR||PID^1^7|101^Required field missing^HL70357|E|")) {
				t.Errorf("got %q, %v", replyMsg(rep), err)
			}
		}},
		{"AR", "mode=ar", nil, false, func(t *testing.T, rep *Reply, err error, _ int) {
			if err != nil || !bytes.Contains(rep.Message, []byte("\rMSA|AR|IA1\r")) {
				t.Errorf("got %q, %v", replyMsg(rep), err)
			}
		}},
		{"bad password", "", func(c *ClientConfig) { c.Password = field.NewSecret("nope-CANARY") }, false, func(t *testing.T, _ *Reply, err error, posts int) {
			wantFault(t, err, FaultSecurity, "401", posts)
		}},
		{"facility mismatch", "facility=PEERFAC", func(c *ClientConfig) { c.FacilityID = "OTHER" }, false, func(t *testing.T, _ *Reply, err error, posts int) {
			wantFault(t, err, FaultSecurity, "401", posts)
		}},
		{"security mode", "mode=security", nil, false, func(t *testing.T, _ *Reply, err error, posts int) {
			wantFault(t, err, FaultSecurity, "401", posts)
		}},
		{"unknown fault", "mode=fault", nil, false, func(t *testing.T, _ *Reply, err error, posts int) {
			wantFault(t, err, FaultUnknown, "500", posts)
		}},
		{"too large mode", "mode=toolarge", nil, false, func(t *testing.T, _ *Reply, err error, posts int) {
			wantFault(t, err, FaultMessageTooLarge, "413", posts)
		}},
		{"too large size", "maxBytes=100", nil, false, func(t *testing.T, _ *Reply, err error, posts int) {
			wantFault(t, err, FaultMessageTooLarge, "413", posts)
		}},
		{"503 always", "mode=503", nil, false, func(t *testing.T, _ *Reply, err error, posts int) {
			if te := asTransport(t, err); te.HTTPStatus != 503 || te.Attempts != 3 || posts != 3 {
				t.Errorf("got %v, attempts %d, peer saw %d", err, te.Attempts, posts)
			}
		}},
		{"fail first 2", "failNext=2", nil, false, func(t *testing.T, rep *Reply, err error, posts int) {
			wantAA(t, rep, err, "IA1")
			if rep.Attempts != 3 || posts != 3 {
				t.Errorf("attempts %d, peer saw %d", rep.Attempts, posts)
			}
		}},
		{"fail first 2 https", "failNext=2", func(c *ClientConfig) { c.CAFile = p.ca }, true, func(t *testing.T, rep *Reply, err error, _ int) {
			wantAA(t, rep, err, "IA1")
			if rep.Attempts != 3 {
				t.Errorf("attempts %d", rep.Attempts)
			}
		}},
		{"timeouts retried", "delayMs=400", func(c *ClientConfig) { c.Timeout, c.MaxRetries = 150*time.Millisecond, 1 }, false, func(t *testing.T, _ *Reply, err error, posts int) {
			var ne net.Error
			if te := asTransport(t, err); !errors.As(err, &ne) || !ne.Timeout() || te.Attempts != 2 || posts != 2 {
				t.Errorf("got %v, attempts %d, peer saw %d", err, te.Attempts, posts)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.control(t, "mode=aa&failNext=0&delayMs=0&maxBytes=0&facility=&reset=1")
			if tc.control != "" {
				p.control(t, tc.control)
			}
			url := p.httpURL
			if tc.https {
				url = p.httpsURL
			}
			cfg := cfgFor(url)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			c := newClient(t, cfg)
			msg := vxu("IA1")
			rep, err := c.Submit(t.Context(), msg)
			noLeak(t, tc.name, err, msg)
			tc.check(t, rep, err, p.posts(t))
		})
	}
	t.Run("connectivityTest", func(t *testing.T) {
		p.control(t, "mode=aa&failNext=0&delayMs=0&maxBytes=0&facility=&reset=1")
		echo := "hello <IIS> & co"
		got, err := newClient(t, cfgFor(p.httpURL)).ConnectivityTest(t.Context(), echo)
		if err != nil || got != echo {
			t.Errorf("ConnectivityTest = %q, %v", got, err)
		}
	})
}

func replyMsg(rep *Reply) []byte {
	if rep == nil {
		return nil
	}
	return rep.Message
}

// wantAA checks an AA reply to control id id from the peer.
func wantAA(t *testing.T, rep *Reply, err error, id string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if !bytes.HasPrefix(rep.Message, []byte("MSH|^~\\&|IIS|STATE|EHR|CLINIC|")) ||
		!bytes.HasSuffix(rep.Message, []byte("\rMSA|AA|"+id+"\r")) || bytes.ContainsRune(rep.Message, '\n') {
		t.Errorf("reply %q", rep.Message)
	}
}

// wantFault checks a fault of kind with CDC code from one POST.
func wantFault(t *testing.T, err error, kind FaultKind, code string, posts int) {
	t.Helper()
	f := asFault(t, err)
	if f.Kind != kind || f.CDCCode != code || f.Code != "soap:Receiver" || f.HTTPStatus != 500 || posts != 1 {
		t.Errorf("fault %#v, peer saw %d POSTs", f, posts)
	}
}

// peerClientResult is one line of client.js --json output.
type peerClientResult struct {
	Op        string `json:"op"`
	ControlID string `json:"controlId"`
	MSA1      string `json:"msa1"`
	MSA2      string `json:"msa2"`
	OK        bool   `json:"ok"`
	Return    string `json:"return"`
	Error     *struct {
		Kind       string `json:"kind"`
		HTTPStatus int    `json:"httpStatus"`
		FaultName  string `json:"faultName"`
		SoapCode   string `json:"soapCode"`
		Code       any    `json:"code"`
		Reason     string `json:"reason"`
	} `json:"error"`
}

// runPeerClient runs client.js with args (--json added) and returns its
// exit code and results.
func runPeerClient(t *testing.T, _, dir string, args ...string) (int, []peerClientResult, string) {
	t.Helper()
	code, stdout, stderr := peertest.RunNode(t, dir, "client.js", append([]string{"--json"}, args...)...)
	return code, peertest.JSONLines[peerClientResult](t, stdout), stdout + stderr
}

// TestInteropPeerClientToServer runs the node-soap client against our
// NewServer over HTTP and HTTPS.
func TestInteropPeerClientToServer(t *testing.T) {
	node, dir := soapPeer(t)
	h := &iis{fail: func(r SubmitRequest) error {
		if r.Username != "peeruser" || r.Password.Reveal() != "peerpass" || r.FacilityID != "PEERFAC" {
			return &Fault{Kind: FaultSecurity, Code: "soap:Receiver", Reason: "Invalid Username, Password or FacilityID",
				CDCCode: "401", CDCReason: "Security", Detail: "Invalid Username, Password or FacilityID"}
		}
		return nil
	}}
	plain := serve(t, NewServer(h, ServerOptions{}))
	pki := mllptest.NewPKI(t)
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	secure := httptest.NewUnstartedServer(NewServer(h, ServerOptions{}))
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	secure.StartTLS()
	t.Cleanup(secure.Close)

	// Three VXUs, one segment per line (LF), as the peer's file format wants.
	var file bytes.Buffer
	var sent [][]byte
	for i := 1; i <= 3; i++ {
		m := vxu(fmt.Sprintf("PC%d", i))
		sent = append(sent, m)
		file.Write(bytes.ReplaceAll(m, []byte("\r"), []byte("\n")))
	}
	msgs := filepath.Join(t.TempDir(), "vxu.hl7")
	if err := os.WriteFile(msgs, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := []string{"--user", "peeruser", "--password", "peerpass", "--facility", "PEERFAC"}
	tests := []struct {
		name  string
		args  []string
		code  int
		check func(t *testing.T, res []peerClientResult)
	}{
		{"http connectivity", []string{"--url", plain.URL + "/IISService", "connectivity", "hello <&> there"}, 0, func(t *testing.T, res []peerClientResult) {
			if len(res) != 1 || !res[0].OK || res[0].Return != "hello <&> there" {
				t.Errorf("results %+v", res)
			}
		}},
		{"https connectivity", []string{"--url", secure.URL + "/IISService", "--ca", pki.CAFile, "connectivity", "hello"}, 0, func(t *testing.T, res []peerClientResult) {
			if len(res) != 1 || !res[0].OK {
				t.Errorf("results %+v", res)
			}
		}},
		{"https connectivity with our WSDL", []string{"--url", secure.URL + "/IISService", "--wsdl", secure.URL + "/IISService?wsdl", "--ca", pki.CAFile, "connectivity", "hello"}, 0,
			func(t *testing.T, res []peerClientResult) {
				if len(res) != 1 || !res[0].OK {
					t.Errorf("results %+v", res)
				}
			}},
		{"http submit", append([]string{"--url", plain.URL + "/IISService", "submit", msgs}, auth...), 0, func(t *testing.T, res []peerClientResult) {
			wantPeerAAs(t, res, 3)
		}},
		{"https submit", append([]string{"--url", secure.URL + "/IISService", "--ca", pki.CAFile, "submit", msgs}, auth...), 0, func(t *testing.T, res []peerClientResult) {
			wantPeerAAs(t, res, 3)
		}},
		{"security fault", []string{"--url", plain.URL + "/IISService", "--user", "peeruser", "--password", "nope", "submit", msgs}, 1, func(t *testing.T, res []peerClientResult) {
			if len(res) != 3 {
				t.Fatalf("results %+v", res)
			}
			e := res[0].Error
			if e == nil || e.Kind != "soap-fault" || e.FaultName != "SecurityFault" || e.SoapCode != "soap:Receiver" ||
				fmt.Sprint(e.Code) != "401" || e.Reason != "Security" || e.HTTPStatus != 500 {
				t.Errorf("error %+v", e)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, res, out := runPeerClient(t, node, dir, tc.args...)
			if code != tc.code {
				t.Fatalf("client.js exit %d, want %d:\n%s", code, tc.code, out)
			}
			tc.check(t, res)
		})
	}
	// Every message the peer client submitted arrived byte for byte (the
	// peer sends no trailing CR; the server's normalisation adds it).
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, got := range h.got {
		if got.Username != "peeruser" {
			continue
		}
		id := hl7Field(got.Message, "MSH", 10)
		var want []byte
		for _, m := range sent {
			if hl7Field(m, "MSH", 10) == id {
				want = m
			}
		}
		if !bytes.Equal(got.Message, want) || got.Version != SOAP12 || got.WSDL != WSDL2011 {
			t.Errorf("server got %q (%v %s), want %q", got.Message, got.Version, got.WSDL, want)
		}
	}
}

func wantPeerAAs(t *testing.T, res []peerClientResult, n int) {
	t.Helper()
	if len(res) != n {
		t.Fatalf("%d results, want %d: %+v", len(res), n, res)
	}
	for i, r := range res {
		if want := fmt.Sprintf("PC%d", i+1); !r.OK || r.MSA1 != "AA" || r.MSA2 != want || r.ControlID != want {
			t.Errorf("result %d: %+v", i, r)
		}
	}
}
