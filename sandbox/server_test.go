package sandbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/soap"
	"github.com/iisync/iisync/internal/phitest"
)

// serverPassword is the sandbox user's password; it must reach no error.
const serverPassword = "zzpass-CANARY-server"

// listen starts s on loopback (HTTPS with certDir and/or HTTP) and shuts
// it down when the test ends.
func listen(t *testing.T, s *IIS, cfg ServerConfig) *Server {
	t.Helper()
	srv, err := Listen(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		select {
		case err := <-srv.Err():
			t.Errorf("a listener stopped on its own: %v", err)
		default:
		}
	})
	return srv
}

// soapClient is a real gateway/soap client of the sandbox at url; caFile
// is its certificate for HTTPS.
func soapClient(t *testing.T, url, caFile, facility string, retries int) *soap.Client {
	t.Helper()
	c, err := soap.NewClient(soap.ClientConfig{URL: url, CAFile: caFile, Username: "zzuser", Password: field.NewSecret(serverPassword),
		FacilityID: facility, Timeout: 5 * time.Second, MaxRetries: retries, RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// checkErr fails when err's text in any format holds PHI or the password.
func checkErr(t *testing.T, err error) {
	t.Helper()
	s := fmt.Sprintf("%s | %v | %+v | %#v", err, err, err, err)
	phitest.Check(t, "error", s)
	if strings.Contains(s, serverPassword) {
		t.Error("error holds the password")
	}
}

// TestServerSOAP talks to the sandbox with the real SOAP client over HTTPS
// (trusting CertFile) and plain HTTP: connectivity test, a VXU accepted,
// the WSDL faults of facility behaviours, and a 503 the client retries.
func TestServerSOAP(t *testing.T) {
	s := newTestIIS(Config{
		Users: Secrets(map[string]string{"zzuser": serverPassword}),
		Behaviours: map[string]Behaviour{
			"ZZLOCKED": {Fault: FaultNameSecurity},
			"ZZBIG":    {Fault: FaultNameTooLarge},
		},
	})
	srv := listen(t, s, ServerConfig{HTTPSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", CertDir: filepath.Join(t.TempDir(), "certs")})
	if !strings.HasPrefix(srv.HTTPSURL(), "https://127.0.0.1:") || strings.HasSuffix(srv.HTTPSURL(), ":0/IISService") ||
		!strings.HasPrefix(srv.HTTPURL(), "http://127.0.0.1:") || !strings.HasSuffix(srv.HTTPURL(), "/IISService") {
		t.Fatalf("urls %q %q: want the bound loopback addresses", srv.HTTPSURL(), srv.HTTPURL())
	}

	endpoints := []struct{ name, url, ca string }{
		{"https", srv.HTTPSURL(), srv.CertFile()},
		{"http", srv.HTTPURL(), ""},
	}
	for i, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			c := soapClient(t, ep.url, ep.ca, "", 0)
			t.Run("connectivityTest", func(t *testing.T) {
				got, err := c.ConnectivityTest(t.Context(), "Hello sandbox")
				if err != nil || got != "You sent: Hello sandbox" {
					t.Fatalf("ConnectivityTest = %q, %v", got, err)
				}
			})
			t.Run("VXU accepted", func(t *testing.T) {
				ctl := fmt.Sprintf("ZZ-SRV-%d", i)
				r, err := c.Submit(t.Context(), apply(t, baseVXU, set("MSH-10", ctl)))
				if err != nil {
					t.Fatal(err)
				}
				if code := value(t, r.Message, "MSA-1"); code != "AA" || value(t, r.Message, "MSA-2") != ctl || r.Attempts != 1 {
					t.Errorf("MSA %s %s after %d attempts:\n%s", code, value(t, r.Message, "MSA-2"), r.Attempts, lines(r.Message))
				}
			})
			faults := []struct {
				facility string
				kind     soap.FaultKind
				code     string
			}{
				{"ZZLOCKED", soap.FaultSecurity, "401"},
				{"ZZBIG", soap.FaultMessageTooLarge, "413"},
			}
			for _, f := range faults {
				t.Run(string(f.kind), func(t *testing.T) {
					_, err := soapClient(t, ep.url, ep.ca, f.facility, 3).Submit(t.Context(), []byte(baseVXU))
					var fault *soap.Fault
					if !errors.As(err, &fault) || fault.Kind != f.kind || fault.CDCCode != f.code {
						t.Fatalf("err = %v (%T), want a %s fault with code %s", err, err, f.kind, f.code)
					}
					checkErr(t, err)
				})
			}
			t.Run("wrong password", func(t *testing.T) {
				c, err := soap.NewClient(soap.ClientConfig{URL: ep.url, CAFile: ep.ca, Username: "zzuser", Password: field.NewSecret("nope-ZZTEST")})
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseIdleConnections()
				_, err = c.Submit(t.Context(), []byte(baseVXU))
				var fault *soap.Fault
				if !errors.As(err, &fault) || fault.Kind != soap.FaultSecurity {
					t.Fatalf("err = %v, want a SecurityFault", err)
				}
				checkErr(t, err)
			})
		})
	}
	if n := len(s.Patients()); n != 1 { // the same patient, matched by MRN the second time
		t.Errorf("%d patients stored, want 1", n)
	}
}

// TestServerUnavailableRetried: a facility answered 503 (Retry-After 1s)
// once; a client that retries gets the AA on its second request, and one
// that does not sees the 503.
func TestServerUnavailableRetried(t *testing.T) {
	s := newTestIIS(Config{Behaviours: map[string]Behaviour{"ZZBUSY": {Unavailable: 1}, "ZZBUSY2": {Unavailable: 1}}})
	srv := listen(t, s, ServerConfig{HTTPSAddr: "127.0.0.1:0", CertDir: t.TempDir()})

	start := time.Now()
	r, err := soapClient(t, srv.HTTPSURL(), srv.CertFile(), "ZZBUSY", 1).Submit(t.Context(), []byte(baseVXU))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 || value(t, r.Message, "MSA-1") != "AA" {
		t.Errorf("%d attempts, MSA-1 %s: want AA on the second request", r.Attempts, value(t, r.Message, "MSA-1"))
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("took %s: Retry-After was not capped by retry_wait_max", took)
	}

	// Without retries the first request's 503 is the answer: the server
	// did count it.
	_, err = soapClient(t, srv.HTTPSURL(), srv.CertFile(), "ZZBUSY2", -1).Submit(t.Context(), []byte(baseVXU))
	var te *soap.TransportError
	if !errors.As(err, &te) || te.HTTPStatus != http.StatusServiceUnavailable || te.Attempts != 1 {
		t.Fatalf("err = %v, want a 503 after one attempt", err)
	}
	checkErr(t, err)
}

// TestServerWSDL: GET ?wsdl returns the CDC WSDL pointing at the listener
// it was fetched from.
func TestServerWSDL(t *testing.T) {
	srv := listen(t, newTestIIS(Config{}), ServerConfig{HTTPSAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", CertDir: t.TempDir()})
	for _, url := range []string{srv.HTTPSURL(), srv.HTTPURL()} {
		t.Run(strings.SplitN(url, ":", 2)[0], func(t *testing.T) {
			resp, err := trustingClient(t, srv.CertFile()).Get(url + "?wsdl")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
				t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !bytes.Contains(body, []byte(`location="`+url+`"`)) {
				t.Errorf("WSDL address is not %s", url)
			}
			if !bytes.Contains(body, []byte(`name="submitSingleMessage"`)) || !bytes.Contains(body, []byte("urn:cdc:iisb:2011")) {
				t.Error("not the CDC 2011 WSDL")
			}
		})
	}
}

// trustingClient is an HTTP client trusting the PEM certificate in caFile.
func trustingClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("cert.pem holds no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// TestServerCertificate: the self-signed certificate is created on first
// start with safe modes, reused on the next, and replaced when its files
// are garbage.
func TestServerCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	s := newTestIIS(Config{})
	start := func(t *testing.T) []byte {
		t.Helper()
		srv, err := Listen(s, ServerConfig{HTTPSAddr: "127.0.0.1:0", CertDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = srv.Shutdown(context.Background()) }()
		if srv.CertFile() != certFile || srv.HTTPURL() != "" {
			t.Errorf("cert file %q, http url %q", srv.CertFile(), srv.HTTPURL())
		}
		got, err := soapClient(t, srv.HTTPSURL(), srv.CertFile(), "", -1).ConnectivityTest(t.Context(), "tls")
		if err != nil || got != "You sent: tls" {
			t.Fatalf("ConnectivityTest over the certificate: %q, %v", got, err)
		}
		b, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	first := start(t)
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{certFile, 0o644}, {keyFile, 0o600}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode {
			t.Errorf("%s mode %o, want %o", filepath.Base(f.path), fi.Mode().Perm(), f.mode)
		}
	}
	block, _ := pem.Decode(first)
	if block == nil {
		t.Fatal("cert.pem is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not cover %s: %v", host, err)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	t.Run("reused", func(t *testing.T) {
		if again := start(t); !bytes.Equal(again, first) {
			t.Error("the second start made a new certificate")
		}
	})
	t.Run("garbage replaced", func(t *testing.T) {
		for _, f := range []string{certFile, keyFile} {
			if err := os.WriteFile(f, []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if again := start(t); bytes.Equal(again, first) || bytes.Equal(again, []byte("garbage")) {
			t.Error("garbage certificate files were not replaced")
		}
	})
	t.Run("key of another certificate replaced", func(t *testing.T) {
		good, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		other := t.TempDir()
		if _, _, err := ensureCert(other, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		otherKey, err := os.ReadFile(filepath.Join(other, "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, otherKey, 0o600); err != nil {
			t.Fatal(err)
		}
		if again := start(t); bytes.Equal(again, good) {
			t.Error("a mismatched key pair was kept")
		}
	})
}

// TestListenErrors: configuration and bind problems are errors, and no
// listener is left open by a failed Listen.
func TestListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	freeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := freeLn.Addr().String()
	_ = freeLn.Close()

	tests := []struct {
		name string
		cfg  ServerConfig
	}{
		{"no listener", ServerConfig{}},
		{"https without cert dir", ServerConfig{HTTPSAddr: "127.0.0.1:0"}},
		{"bad https address", ServerConfig{HTTPSAddr: "8443", CertDir: t.TempDir()}},
		{"https address in use", ServerConfig{HTTPSAddr: busy.Addr().String(), CertDir: t.TempDir()}},
		{"http address in use", ServerConfig{HTTPSAddr: free, HTTPAddr: busy.Addr().String(), CertDir: t.TempDir()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := Listen(newTestIIS(Config{}), tc.cfg)
			if err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatal("no error")
			}
		})
	}
	// The failed "http address in use" start released its HTTPS port.
	ln, err := net.Listen("tcp", free)
	if err != nil {
		t.Errorf("the HTTPS listener of a failed Listen is still open: %v", err)
	} else {
		_ = ln.Close()
	}
}

// TestServerShutdown: after Shutdown the endpoint refuses connections.
func TestServerShutdown(t *testing.T) {
	srv, err := Listen(newTestIIS(Config{}), ServerConfig{HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if srv.HTTPSURL() != "" || srv.CertFile() != "" {
		t.Errorf("HTTP only, yet https url %q cert %q", srv.HTTPSURL(), srv.CertFile())
	}
	c := soapClient(t, srv.HTTPURL(), "", "", -1)
	if _, err := c.ConnectivityTest(t.Context(), "up"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	_, err = c.ConnectivityTest(t.Context(), "down")
	var te *soap.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("after Shutdown: %v, want a transport error", err)
	}
}
