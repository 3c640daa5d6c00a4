package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/iisync/iisync/conf/field"
	"github.com/iisync/iisync/gateway/soap"
)

// soapHandler binds an IIS to the CDC WSDL operations of gateway/soap.
type soapHandler struct{ iis *IIS }

// SOAPHandler returns the IIS as a soap.Handler: Submit's outcomes become
// the reply, the WSDL's faults or a bare 503 with Retry-After.
func SOAPHandler(s *IIS) soap.Handler { return soapHandler{s} }

func (h soapHandler) SubmitSingleMessage(ctx context.Context, req soap.SubmitRequest) ([]byte, error) {
	r := h.iis.Submit(ctx, Request{Username: req.Username, Password: req.Password, FacilityID: req.FacilityID, Message: req.Message})
	switch r.Outcome {
	case Reply:
		return r.Message, nil
	case Unavailable:
		return nil, &soap.HTTPError{Status: http.StatusServiceUnavailable, RetryAfter: r.RetryAfter}
	case FaultSecurity:
		return nil, &soap.Fault{Kind: soap.FaultSecurity, CDCCode: "401", CDCReason: "Security", Reason: r.FaultText, Detail: r.FaultText}
	case FaultTooLarge:
		return nil, &soap.Fault{Kind: soap.FaultMessageTooLarge, CDCCode: "413", CDCReason: "MessageTooLarge", Reason: r.FaultText, Detail: r.FaultText}
	case FaultUnsupported:
		return nil, &soap.Fault{Kind: soap.FaultUnsupportedOperation, CDCCode: "501", CDCReason: "UnsupportedOperation", Reason: r.FaultText, Detail: r.FaultText}
	}
	return nil, &soap.Fault{Kind: soap.FaultUnknown, CDCCode: "500", CDCReason: "Unknown", Reason: r.FaultText, Detail: r.FaultText}
}

func (h soapHandler) ConnectivityTest(_ context.Context, echo string) (string, error) {
	return h.iis.Ping(echo), nil
}

// ServerConfig says where the sandbox listens.
type ServerConfig struct {
	// HTTPSAddr is the HTTPS listener (host:port); empty for none.
	HTTPSAddr string
	// HTTPAddr is a plain HTTP listener; empty for none.
	HTTPAddr string
	// CertDir holds cert.pem and key.pem: a self-signed certificate for
	// 127.0.0.1, ::1, localhost and the HTTPS host, created on first start
	// (and again when it has expired). Required with HTTPSAddr.
	CertDir string
}

// Server serves an IIS over the CDC WSDL on every path: POST for the SOAP
// operations, GET ?wsdl for the WSDL.
type Server struct {
	srv       *http.Server
	https     net.Listener
	http      net.Listener
	certFile  string
	serveErrs chan error
	serving   sync.WaitGroup // one goroutine per listener; Shutdown waits for them
}

// Listen binds the listeners of cfg (creating the certificate if needed)
// and starts serving iis in the background. Shutdown stops it.
func Listen(iis *IIS, cfg ServerConfig) (*Server, error) {
	if cfg.HTTPSAddr == "" && cfg.HTTPAddr == "" {
		return nil, errors.New("sandbox: no listener configured")
	}
	s := &Server{
		srv: &http.Server{
			Handler:           soap.NewServer(SOAPHandler(iis), soap.ServerOptions{}),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		serveErrs: make(chan error, 2),
	}
	if cfg.HTTPSAddr != "" {
		if cfg.CertDir == "" {
			return nil, errors.New("sandbox: cert dir required for HTTPS")
		}
		host, _, err := net.SplitHostPort(cfg.HTTPSAddr)
		if err != nil {
			return nil, fmt.Errorf("sandbox: https addr: %w", err)
		}
		cert, certFile, err := ensureCert(cfg.CertDir, host)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.HTTPSAddr)
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		s.https, s.certFile = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), certFile
		s.https = &addrListener{Listener: s.https, addr: ln.Addr()}
	}
	if cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			if s.https != nil {
				_ = s.https.Close()
			}
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		s.http = ln
	}
	for _, ln := range []net.Listener{s.https, s.http} {
		if ln != nil {
			s.serving.Go(func() {
				if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					s.serveErrs <- err
				}
			})
		}
	}
	return s, nil
}

// addrListener keeps the TCP address visible through the TLS wrapper.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l *addrListener) Addr() net.Addr { return l.addr }

// HTTPSURL is the HTTPS endpoint ("" without HTTPS), e.g.
// https://127.0.0.1:8443/IISService.
func (s *Server) HTTPSURL() string {
	if s.https == nil {
		return ""
	}
	return "https://" + s.https.Addr().String() + "/IISService"
}

// HTTPURL is the plain HTTP endpoint ("" without HTTP).
func (s *Server) HTTPURL() string {
	if s.http == nil {
		return ""
	}
	return "http://" + s.http.Addr().String() + "/IISService"
}

// CertFile is the PEM certificate clients should trust ("" without HTTPS).
func (s *Server) CertFile() string { return s.certFile }

// Err reports a listener that stopped serving on its own.
func (s *Server) Err() <-chan error { return s.serveErrs }

// Shutdown stops accepting and waits for the requests in flight, within
// ctx, and for the listeners' goroutines.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close() // past ctx: drop what is left so the goroutines end
	}
	s.serving.Wait()
	return err
}

// certValidity is how long a generated certificate lasts.
const certValidity = 2 * 365 * 24 * time.Hour

// ensureCert loads CertDir's certificate, or creates a self-signed one
// when it is missing, unreadable, expired or does not cover host.
func ensureCert(dir, host string) (tls.Certificate, string, error) {
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && c.Leaf != nil &&
		time.Now().Before(c.Leaf.NotAfter.Add(-24*time.Hour)) && c.Leaf.VerifyHostname(hostOrLoopback(host)) == nil {
		return c, certFile, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("sandbox: cert dir: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("sandbox: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("sandbox: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "iisync IIS sandbox", Organization: []string{"iisync sandbox (self-signed, not for production)"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so clients can trust it directly as their CA file
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if ip == nil && host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("sandbox: certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("sandbox: key: %w", err)
	}
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, "", err
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("sandbox: certificate: %w", err)
	}
	return c, certFile, nil
}

// hostOrLoopback is the name a certificate must cover for host: the
// unspecified or empty host is reached on loopback.
func hostOrLoopback(host string) string {
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "127.0.0.1"
	}
	return host
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// Secrets turns plain user → password pairs into Config.Users.
func Secrets(users map[string]string) map[string]field.Secret {
	out := make(map[string]field.Secret, len(users))
	for u, p := range users {
		out[u] = field.NewSecret(p)
	}
	return out
}
