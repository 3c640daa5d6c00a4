package mllp

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iisync/iisync/conf/field"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	want := Config{Addr: "127.0.0.1:2575", MaxFrameBytes: 1 << 20, MaxConns: 256,
		IdleTimeout: 5 * time.Minute, FrameTimeout: 30 * time.Second, WriteTimeout: 10 * time.Second}
	if c != want {
		t.Fatalf("WithDefaults = %+v", c)
	}
	s := SenderConfig{Addr: "h:1"}.WithDefaults()
	ws := SenderConfig{Addr: "h:1", DialTimeout: 5 * time.Second, ACKTimeout: 30 * time.Second,
		MaxFrameBytes: 1 << 20, Backoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second, MaxAttempts: 3}
	if s != ws {
		t.Fatalf("SenderConfig.WithDefaults = %+v", s)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  interface{ Validate() error }
		want []string // one line per problem, in order
	}{
		{"zero listener is valid", Config{}, nil},
		{"listener problems", Config{Addr: "2575", MaxFrameBytes: 100, MaxConns: -1, IdleTimeout: -time.Second},
			[]string{
				`addr: must be host:port, got "2575"`,
				"max_frame_bytes: must be 1KiB..64MiB, got 100",
				"max_conns: must be at least 1, got -1",
				"idle_timeout: must be positive, got -1s",
			}},
		{"listener tls", Config{TLS: &TLSConfig{KeyFile: "k", ClientAuth: true, ServerName: "x"}},
			[]string{
				"tls: cert_file and key_file must be set together",
				"tls.cert_file: required for a listener",
				"tls.ca_file: required when client_auth is true",
				"tls.server_name: is for senders only",
			}},
		{"sender ok", SenderConfig{Addr: "127.0.0.1:2575", TLS: &TLSConfig{}}, nil},
		{"sender problems", SenderConfig{MaxFrameBytes: 65 << 20, Backoff: time.Minute, MaxAttempts: -2,
			TLS: &TLSConfig{CertFile: "c", ClientAuth: true}},
			[]string{
				`addr: must be host:port, got ""`,
				"max_frame_bytes: must be 1KiB..64MiB, got 68157440",
				"backoff: must not exceed max_backoff (30s), got 1m0s",
				"max_attempts: must be at least 1, got -2",
				"tls: cert_file and key_file must be set together",
				"tls.client_auth: is for listeners only",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
				var fe *field.Error
				if !errors.As(err, &fe) {
					t.Fatalf("not a field.Error: %v", err)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("Validate:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestTLSConfigFiles(t *testing.T) {
	p := newPKI(t)
	srv, err := (&TLSConfig{CertFile: p.ServerCert, KeyFile: p.ServerKey, CAFile: p.CAFile, ClientAuth: true}).ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	if srv.MinVersion != tls.VersionTLS12 || srv.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("server tls: min %x auth %v", srv.MinVersion, srv.ClientAuth)
	}
	cli, err := (&TLSConfig{CAFile: p.CAFile, ServerName: "localhost"}).ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	if cli.MinVersion != tls.VersionTLS12 || cli.RootCAs == nil || cli.ServerName != "localhost" {
		t.Fatal("client tls not configured")
	}
	bad := []*TLSConfig{
		{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientAuth: true},
		{CertFile: p.ServerCert, KeyFile: p.ServerKey, CAFile: p.ServerKey},
		{CertFile: "nope", KeyFile: "nope"},
	}
	for i, c := range bad {
		if _, err := c.ServerTLS(); err == nil {
			t.Errorf("bad server tls %d accepted", i)
		}
	}
	if _, err := (&TLSConfig{CAFile: "nope"}).ClientTLS(); err == nil {
		t.Error("missing ca file accepted")
	}
}
