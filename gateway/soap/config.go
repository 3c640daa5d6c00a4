package soap

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// Defaults of ClientConfig.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxRetries      = 3
	DefaultRetryWaitMin    = 500 * time.Millisecond
	DefaultRetryWaitMax    = 30 * time.Second
	DefaultMaxConnsPerHost = 16
	// MaxResponseBytes is the largest response body the client reads.
	MaxResponseBytes = 16 << 20
)

// ClientConfig configures a Client. The zero value of each field means its
// default; Password is a field.Secret and never prints.
type ClientConfig struct {
	// URL is the registry endpoint, http:// or https:// (required). It must
	// not carry credentials (user:password@).
	URL string `yaml:"url"`
	// Username, Password and FacilityID are sent in every
	// submitSingleMessage (the CDC WSDL carries them in the body).
	Username   string       `yaml:"username"`
	Password   field.Secret `yaml:"password"`
	FacilityID string       `yaml:"facility_id"`
	// Profile selects the WSDL variant and SOAP version.
	Profile Profile `yaml:"profile"`
	// Timeout bounds one HTTP attempt (connect, TLS, request, whole
	// response); default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is how many times a failed attempt is retried, after the
	// first; default 3; a negative value means no retry.
	MaxRetries int `yaml:"max_retries"`
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (with
	// jitter) between attempts, and RetryWaitMax caps a server's
	// Retry-After; defaults 500ms and 30s.
	RetryWaitMin time.Duration `yaml:"retry_wait_min"`
	RetryWaitMax time.Duration `yaml:"retry_wait_max"`
	// CAFile is a PEM bundle of roots to trust instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key (PEM) for
	// mutual TLS, both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name used for SNI and for verifying the
	// server certificate; default the URL's host.
	ServerName string `yaml:"server_name"`
	// MaxConnsPerHost caps the connections to the registry, and the
	// keep-alive pool; default 16.
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
}

// WithDefaults returns c with every zero field set to its default.
func (c ClientConfig) WithDefaults() ClientConfig {
	if c.Profile.WSDL == "" {
		c.Profile.WSDL = WSDL2011
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	} else if c.MaxRetries < 0 {
		c.MaxRetries = -1
	}
	if c.RetryWaitMin == 0 {
		c.RetryWaitMin = DefaultRetryWaitMin
	}
	if c.RetryWaitMax == 0 {
		c.RetryWaitMax = DefaultRetryWaitMax
	}
	if c.MaxConnsPerHost == 0 {
		c.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	return c
}

// retries returns the number of retries after the first attempt.
func (c ClientConfig) retries() int {
	if c.MaxRetries < 0 {
		return 0
	}
	return c.MaxRetries
}

// Validate returns every problem in c, joined, each a *field.Error whose
// path is the YAML key ("url", "cert_file", "profile.wsdl"). Zero fields
// count as their defaults. It reads no files and never prints the
// password.
func (c ClientConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	switch u, err := url.Parse(c.URL); {
	case c.URL == "":
		errs = append(errs, field.Errorf("url", "required"))
	case err != nil:
		errs = append(errs, field.Errorf("url", "must be an http:// or https:// URL"))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, field.Errorf("url", "scheme must be http or https, got %q", u.Scheme))
	case u.Host == "":
		errs = append(errs, field.Errorf("url", "must name a host"))
	case u.User != nil:
		errs = append(errs, field.Errorf("url", "must not carry credentials; use username and password"))
	default:
		if u.Scheme == "http" && (c.CertFile != "" || c.CAFile != "") {
			errs = append(errs, field.Errorf("url", "TLS files are set but the scheme is http"))
		}
	}
	// The password is checked where it is used (NewClient), the one place
	// that reveals it.
	for _, f := range []struct{ path, value string }{{"username", c.Username}, {"facility_id", c.FacilityID}} {
		if !xmlSafe([]byte(f.value)) {
			errs = append(errs, field.Errorf(f.path, "holds a character XML 1.0 cannot carry"))
		}
	}
	p := c.Profile
	if variantOf(p.WSDL) == nil {
		errs = append(errs, field.Errorf("profile.wsdl", "must be %q, %q or %q, got %q", WSDL2011, WSDL2014, WSDLHub, p.WSDL))
	}
	if p.Version != SOAP12 && p.Version != SOAP11 {
		errs = append(errs, field.Errorf("profile.version", "must be 1.1 or 1.2, got %d", int(p.Version)))
	}
	if p.Fallback11 && p.Version == SOAP11 {
		errs = append(errs, field.Errorf("profile.fallback_11", "only applies to SOAP 1.2"))
	}
	if p.WSDL == WSDLHub {
		if p.HubDestinationID == "" {
			errs = append(errs, field.Errorf("profile.hub_destination_id", "required for the hub WSDL"))
		} else if !validDestinationID(p.HubDestinationID) {
			errs = append(errs, field.Errorf("profile.hub_destination_id", "must match [A-Za-z0-9_-]+, got %q", p.HubDestinationID))
		}
		if p.HubDestinationURI != "" {
			if u, err := url.Parse(p.HubDestinationURI); err != nil || u.Scheme == "" || len(p.HubDestinationURI) > 1024 {
				errs = append(errs, field.Errorf("profile.hub_destination_uri", "must be an absolute URI of at most 1024 bytes"))
			}
		}
	} else if p.HubDestinationID != "" || p.HubDestinationURI != "" {
		errs = append(errs, field.Errorf("profile.hub_destination_id", "only applies to the hub WSDL"))
	}
	if c.Timeout < 0 {
		errs = append(errs, field.Errorf("timeout", "must be positive, got %s", c.Timeout))
	}
	if c.RetryWaitMin < 0 {
		errs = append(errs, field.Errorf("retry_wait_min", "must be positive, got %s", c.RetryWaitMin))
	}
	if c.RetryWaitMax < 0 {
		errs = append(errs, field.Errorf("retry_wait_max", "must be positive, got %s", c.RetryWaitMax))
	}
	if c.RetryWaitMin > 0 && c.RetryWaitMax > 0 && c.RetryWaitMin > c.RetryWaitMax {
		errs = append(errs, field.Errorf("retry_wait_min", "must not exceed retry_wait_max (%s), got %s", c.RetryWaitMax, c.RetryWaitMin))
	}
	if c.MaxConnsPerHost < 1 {
		errs = append(errs, field.Errorf("max_conns_per_host", "must be at least 1, got %d", c.MaxConnsPerHost))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		path := "cert_file"
		if c.KeyFile == "" {
			path = "key_file"
		}
		errs = append(errs, field.Errorf(path, "cert_file and key_file must be set together"))
	}
	return errors.Join(errs...)
}

// validDestinationID reports whether s matches the hub schema's
// DestinationIdType pattern [\w_\-]+ (ASCII word characters).
func validDestinationID(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0
}
