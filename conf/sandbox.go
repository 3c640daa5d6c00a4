package conf

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// Sandbox defaults: the demo registry's address.
const DefaultSandboxHTTPSAddr = "127.0.0.1:8443"

// SandboxConfig runs the embedded IIS sandbox (package sandbox) inside
// `iisync serve`, so the demo has a registry to talk to. `iisync sandbox`
// runs the same thing alone from flags.
type SandboxConfig struct {
	// HTTPSAddr serves the CDC WSDL over HTTPS with a self-signed
	// certificate (created on first start in CertDir). Default
	// "127.0.0.1:8443".
	HTTPSAddr string `yaml:"https_addr"`
	// HTTPAddr, when set, serves it over plain HTTP too.
	HTTPAddr string `yaml:"http_addr"`
	// CertDir keeps the sandbox's certificate and key (cert.pem, key.pem);
	// an iis destination trusts it with ca_file: CertDir/cert.pem.
	// Required.
	CertDir string `yaml:"cert_dir"`
	// Users are the accepted username → password pairs; empty accepts any
	// credentials.
	Users map[string]field.Secret `yaml:"users"`
	// Facilities switch registry behaviours per facility ID ("*" for all):
	// see SandboxBehaviour.
	Facilities map[string]SandboxBehaviour `yaml:"facilities"`
	// Seed lists HL7 files (VXUs, one or more per file) the registry loads
	// at start as its own records: histories reported by other providers,
	// so that a Sync Registry query finds something the clinic does not
	// have. Paths are used as written, like cert_dir.
	Seed []string `yaml:"seed"`
}

// SandboxBehaviour mimics one real registry's habits for a facility.
type SandboxBehaviour struct {
	// Fault answers every submit with a SOAP fault: "security",
	// "unknown", "toolarge" or "unsupported".
	Fault string `yaml:"fault"`
	// Unavailable answers the first N submits with HTTP 503 (Retry-After).
	Unavailable int `yaml:"unavailable"`
	// Delay waits before each answer.
	Delay time.Duration `yaml:"delay"`
	// Z32ForZ44 answers a Z44 query with a Z32 response profile.
	Z32ForZ44 bool `yaml:"z32_for_z44"`
	// AEWithData answers queries AE while still carrying the history.
	AEWithData bool `yaml:"ae_with_data"`
	// BatchWrap wraps replies in FHS/BHS/BTS/FTS.
	BatchWrap bool `yaml:"batch_wrap"`
	// WarningsAsAE sends warnings-only outcomes as AE with W severities.
	WarningsAsAE bool `yaml:"warnings_as_ae"`
}

// WithDefaults fills the zero fields.
func (c SandboxConfig) WithDefaults() SandboxConfig {
	if c.HTTPSAddr == "" {
		c.HTTPSAddr = DefaultSandboxHTTPSAddr
	}
	return c
}

// Validate checks addresses, the certificate directory and behaviours.
func (c SandboxConfig) Validate() error {
	var errs []error
	if err := checkHostPort(c.HTTPSAddr); err != nil {
		errs = append(errs, field.Errorf("https_addr", "must be host:port, got %q", c.HTTPSAddr))
	}
	if c.HTTPAddr != "" && checkHostPort(c.HTTPAddr) != nil {
		errs = append(errs, field.Errorf("http_addr", "must be host:port, got %q", c.HTTPAddr))
	}
	if c.CertDir == "" {
		errs = append(errs, field.Errorf("cert_dir", "required (where the self-signed certificate is kept)"))
	}
	for i, f := range c.Seed {
		if f == "" {
			errs = append(errs, field.Errorf(fmt.Sprintf("seed[%d]", i), "empty path"))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Facilities)) { // problems in a stable order
		b := c.Facilities[name]
		switch b.Fault {
		case "", "security", "unknown", "toolarge", "unsupported":
		default:
			errs = append(errs, field.Errorf("facilities."+name+".fault", "must be security, unknown, toolarge or unsupported, got %q", b.Fault))
		}
		if b.Unavailable < 0 || b.Delay < 0 {
			errs = append(errs, field.Errorf("facilities."+name, "unavailable and delay must not be negative"))
		}
	}
	return errors.Join(errs...)
}
