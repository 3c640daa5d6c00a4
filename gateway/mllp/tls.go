package mllp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/iisync/iisync/conf/field"
)

// TLSConfig is the TLS part of a listener's or a sender's configuration.
// The same type serves both sides; the field comments say which side reads
// what. Both sides use TLS 1.2 or later.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files. For a listener they are its
	// certificate and key (required). For a sender they are the client
	// certificate presented for mTLS (optional, both or neither).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// CAFile is a PEM bundle. A listener verifies client certificates
	// against it; a sender verifies the server against it, or against the
	// system pool if it is empty.
	CAFile string `yaml:"ca_file"`
	// ClientAuth (listener only) requires every client to present a
	// certificate that verifies against CAFile. Without it, a listener with
	// a CAFile verifies a client certificate only if one is offered.
	ClientAuth bool `yaml:"client_auth"`
	// ServerName (sender only) overrides the name used for SNI and for
	// verifying the server certificate; default the host part of Addr.
	ServerName string `yaml:"server_name"`
}

// ServerTLS reads the files and returns the listener's *tls.Config.
func (c *TLSConfig) ServerTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("mllp: load server certificate: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if c.ClientAuth {
		if tc.ClientCAs == nil {
			return nil, errors.New("mllp: client_auth needs ca_file")
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// ClientTLS reads the files and returns the sender's *tls.Config.
func (c *TLSConfig) ClientTLS() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mllp: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mllp: read ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("mllp: ca file holds no PEM certificate")
	}
	return pool, nil
}

// validate checks the shape of the configuration (not the files) for a
// listener (server=true) or a sender.
func (c *TLSConfig) validate(server bool) []error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, field.Errorf("tls", "cert_file and key_file must be set together"))
	}
	if server {
		if c.CertFile == "" {
			errs = append(errs, field.Errorf("tls.cert_file", "required for a listener"))
		}
		if c.ClientAuth && c.CAFile == "" {
			errs = append(errs, field.Errorf("tls.ca_file", "required when client_auth is true"))
		}
		if c.ServerName != "" {
			errs = append(errs, field.Errorf("tls.server_name", "is for senders only"))
		}
	} else if c.ClientAuth {
		errs = append(errs, field.Errorf("tls.client_auth", "is for listeners only"))
	}
	return errs
}
