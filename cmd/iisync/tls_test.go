package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all PEM, into a temp dir.
type testPKI struct{ caFile, serverCert, serverKey, clientCert, clientKey string }

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "iisync test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := testPKI{caFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, cf, "CERTIFICATE", der)
		writePEM(t, kf, "PRIVATE KEY", kder)
		return cf, kf
	}
	p.serverCert, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSendServeMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	eng := startEngine(t, testConfig{tls: &pki})
	f := writeFile(t, "m.hl7", canaryVXU)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"client certificate", []string{"--ca", pki.caFile, "--cert", pki.clientCert, "--key", pki.clientKey}, 0, "CANARY-1\tAA\tno ERR\n"},
		{"no client certificate", []string{"--ca", pki.caFile}, 1, "CANARY-1\tERROR\t"},
		{"untrusted server", []string{"--tls", "--cert", pki.clientCert, "--key", pki.clientKey}, 1, "CANARY-1\tERROR\t"},
		{"plain TCP to a TLS listener", nil, 1, "CANARY-1\tERROR\t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"send", "--to", eng.addr, "--ack-timeout", "3s"}, tc.args...)
			r := iisync(t, "", append(args, f)...)
			if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.want) {
				t.Errorf("exit %d stdout %q stderr %q; want %d %q", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
		})
	}
	// Only the mutually authenticated send was stored (the dedupe window
	// keeps a resend of CANARY-1 from being stored twice anyway).
	if got := eng.controlIDs(t); !slices.Equal(got, []string{"CANARY-1"}) {
		t.Errorf("store holds %q", got)
	}
}
