package soap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/iisync/iisync/conf/field"
)

// Client calls one registry endpoint. It is safe for concurrent use; its
// connections are kept alive between calls.
type Client struct {
	cfg      ClientConfig // with defaults
	v        *variant
	redacted string // the endpoint without query or credentials, for errors
	user     []byte // XML-escaped credentials
	pass     []byte
	facility []byte
	tr       *http.Transport
	hc       *retryablehttp.Client
	use11    atomic.Bool // Fallback11 switched this client to SOAP 1.1
}

// Reply is a registry's answer to Submit.
type Reply struct {
	Message    []byte        // normalised HL7 reply (CR segment terminators)
	Attempts   int           // HTTP attempts made (1 = no retry)
	HTTPStatus int           // of the last attempt
	Duration   time.Duration // total, retries and backoff included
}

// NewClient validates cfg, loads its TLS material (TLS 1.2 minimum) and
// builds the retrying HTTP client. It opens no connection. Configuration
// and file problems are *field.Error values located by YAML key.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	tc, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, v: variantOf(cfg.Profile.WSDL)}
	u, _ := url.Parse(cfg.URL) // Validate parsed it
	c.redacted = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	// The one place the password is revealed: it is escaped once here and
	// only ever copied into request bodies.
	if c.pass, err = appendEscaped(nil, []byte(cfg.Password.Reveal())); err != nil {
		return nil, field.Errorf("password", "holds a character XML 1.0 cannot carry")
	}
	c.user, _ = appendEscaped(nil, []byte(cfg.Username)) // Validate checked both
	c.facility, _ = appendEscaped(nil, []byte(cfg.FacilityID))
	c.use11.Store(cfg.Profile.Version == SOAP11)

	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	c.tr = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   cfg.Timeout,
		MaxIdleConns:          cfg.MaxConnsPerHost,
		MaxIdleConnsPerHost:   cfg.MaxConnsPerHost,
		MaxConnsPerHost:       cfg.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c.hc = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: c.tr,
			Timeout:   cfg.Timeout, // per attempt: each retry gets a fresh one
			// A redirect would re-send the credentials to another URL, or
			// turn the POST into a GET: answer it as a status instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Logger:       nil, // no logging: errors are returned
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.retries(),
		CheckRetry:   checkRetry,
		Backoff:      backoff,
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) { return resp, err },
	}
	return c, nil
}

// String names the client by its endpoint, never its credentials.
func (c *Client) String() string { return "soap.Client(" + c.redacted + ")" }

// GoString is String, so %#v cannot dump the credentials.
func (c *Client) GoString() string { return c.String() }

// CloseIdleConnections closes the keep-alive connections not in use.
func (c *Client) CloseIdleConnections() { c.tr.CloseIdleConnections() }

// version returns the envelope version in use.
func (c *Client) version() Version {
	if c.use11.Load() {
		return SOAP11
	}
	return SOAP12
}

// Submit calls submitSingleMessage(username, password, facilityID,
// hl7Message) and returns the registry's HL7 reply (the return element),
// normalised: CR segment terminators (LF and CRLF turned into CR),
// surrounding whitespace trimmed, base64 or URL-encoded replies decoded
// when they are recognisably such.
//
// The error is a *Fault when the registry answered with a SOAP fault, a
// *TransportError when no usable reply came after the retries the policy
// allows (see the package documentation), or ErrInvalidChar (wrapped) when
// hl7 cannot be carried in XML. ctx bounds the whole call, retries and
// backoff included; each attempt is also bounded by ClientConfig.Timeout.
func (c *Client) Submit(ctx context.Context, hl7 []byte) (*Reply, error) {
	start := time.Now()
	st, err := c.call(ctx, opSubmit, hl7)
	if err != nil {
		return nil, err
	}
	return &Reply{
		Message:    normalizeHL7(st.parsed.text),
		Attempts:   st.attempts,
		HTTPStatus: st.status,
		Duration:   time.Since(start),
	}, nil
}

// ConnectivityTest calls connectivityTest(echoBack) and returns the
// registry's return text as it came (XML-decoded, not normalised). Errors
// are as for Submit.
func (c *Client) ConnectivityTest(ctx context.Context, echo string) (string, error) {
	st, err := c.call(ctx, opConnectivity, []byte(echo))
	if err != nil {
		return "", err
	}
	return string(st.parsed.text), nil
}

// call makes one operation call, with the SOAP 1.1 fallback if the profile
// allows it, and turns its outcome into a result or a typed error.
func (c *Client) call(ctx context.Context, o op, payload []byte) (*callState, error) {
	v := c.version()
	st, err := c.roundTrip(ctx, o, v, payload)
	if err != nil {
		return nil, err
	}
	if c.cfg.Profile.Fallback11 && v == SOAP12 &&
		(st.status == http.StatusUnsupportedMediaType || st.parsed.fault != nil && st.parsed.fault.isVersionMismatch()) {
		c.use11.Store(true)
		first := st.attempts
		if st, err = c.roundTrip(ctx, o, SOAP11, payload); err != nil {
			return nil, err
		}
		st.attempts += first
	}
	return st, st.outcome(ctx, c.redacted)
}

// roundTrip encodes and sends one request with retries. Its error is only
// an encoding error; the exchange's outcome is in the state.
func (c *Client) roundTrip(ctx context.Context, o op, v Version, payload []byte) (*callState, error) {
	r := request{v: c.v, version: v, op: o, payload: payload}
	if o == opSubmit {
		r.user, r.password, r.facility = c.user, c.pass, c.facility
	}
	if c.v.wsa {
		r.to, r.messageID = c.cfg.URL, newMessageID()
	}
	if c.v.hub {
		r.hubID, r.hubURI = c.cfg.Profile.HubDestinationID, c.cfg.Profile.HubDestinationURI
	}
	body, err := encodeRequest(make([]byte, 0, len(payload)+len(payload)/16+1024), &r)
	if err != nil {
		return nil, err
	}
	st := &callState{}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, stateKey{}, st), http.MethodPost, c.cfg.URL, body)
	if err != nil {
		return nil, &TransportError{Err: errors.New("soap: cannot build request")}
	}
	action := c.v.actions[o]
	req.Header.Set("Content-Type", contentType(v, action))
	if v == SOAP11 {
		req.Header.Set("SOAPAction", strconv.Quote(action))
	}
	req.Header.Set("User-Agent", "iisync-soap")
	resp, err := c.hc.Do(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil && st.err == nil && st.parsed.fault == nil && !st.parsed.found {
		st.err = err // for example the context ended during a backoff wait
	}
	return st, nil
}

// callState is what the retry policy learnt about one call's attempts; it
// travels to checkRetry in the request's context.
type callState struct {
	attempts int
	status   int   // HTTP status of the last attempt, 0 if none
	err      error // transport error of the last attempt
	parsed   reply // the last attempt's body, parsed
	perr     error // why it did not parse
}

type stateKey struct{}

// outcome returns nil if the last attempt brought a usable reply, else the
// typed error.
func (st *callState) outcome(ctx context.Context, redacted string) error {
	switch {
	case st.parsed.fault != nil:
		f := *st.parsed.fault
		f.HTTPStatus = st.status
		return &f
	case st.parsed.found && st.status >= 200 && st.status <= 299:
		return nil
	}
	te := &TransportError{Attempts: st.attempts, HTTPStatus: st.status}
	switch {
	case ctx.Err() != nil:
		te.Err, te.Retryable = context.Cause(ctx), true // out of time, not refused
	case st.err != nil:
		te.Err, te.Retryable = redactURL(st.err, redacted), retryableError(st.err)
	case st.status < 200 || st.status > 299:
		te.Err, te.Retryable = ErrHTTPStatus, retryableStatus(st.status)
	case st.perr != nil:
		te.Err = st.perr
	default:
		te.Err = ErrNoReply
	}
	return te
}

// redactURL replaces the URL in a *url.Error with redacted (no query, no
// credentials).
func redactURL(err error, redacted string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redacted, Err: ue.Err}
	}
	return err
}

// checkRetry is the retry policy (retryablehttp.CheckRetry). It reads and
// parses each response body itself (up to MaxResponseBytes), because
// whether a 5xx is retried depends on whether its body is a SOAP fault.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		st = &callState{}
	}
	st.attempts++
	*st = callState{attempts: st.attempts}
	if resp != nil {
		st.status = resp.StatusCode
	}
	if cerr := ctx.Err(); cerr != nil {
		if resp != nil {
			_ = resp.Body.Close()
			resp.Body = http.NoBody
		}
		st.err = cerr
		return false, cerr
	}
	if err != nil {
		st.err = err
		return retryableError(err), nil
	}
	body, rerr := readBody(resp.Body)
	_ = resp.Body.Close()
	resp.Body = http.NoBody
	if rerr != nil {
		st.err = rerr
		if errors.Is(rerr, ErrResponseTooLarge) || ctx.Err() != nil {
			return false, nil
		}
		return retryableError(rerr), nil
	}
	st.parsed, st.perr = parseReply(rootPart(resp.Header.Get("Content-Type"), body))
	if f := st.parsed.fault; f != nil {
		return f.Retryable(), nil
	}
	return retryableStatus(resp.StatusCode), nil
}

// retryableStatus: 429, and 5xx without a SOAP fault (501 Not Implemented
// and 505 HTTP Version Not Supported excepted: they do not heal).
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented || code == http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// retryableError: timeouts and connection failures (refused, reset,
// aborted, broken pipe, EOF, a temporary DNS failure) are retried;
// certificate verification and other TLS failures, and everything else,
// are not.
func retryableError(err error) bool {
	var (
		verr  *tls.CertificateVerificationError
		uaerr x509.UnknownAuthorityError
		herr  x509.HostnameError
		cierr x509.CertificateInvalidError
		rherr tls.RecordHeaderError
		alert tls.AlertError
	)
	if errors.As(err, &verr) || errors.As(err, &uaerr) || errors.As(err, &herr) ||
		errors.As(err, &cierr) || errors.As(err, &rherr) || errors.As(err, &alert) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	// net/http does not retry a POST on a kept-alive connection the server
	// had just closed; nothing was sent, so it is safe to.
	return strings.Contains(err.Error(), "server closed idle connection")
}

// readBody reads at most MaxResponseBytes.
func readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseBytes {
		return nil, ErrResponseTooLarge
	}
	return b, nil
}

// backoff is the wait before retry attemptNum+1 (retryablehttp.Backoff): a
// 429's or 503's Retry-After (seconds or HTTP-date) capped at hi, else
// exponential from lo with jitter, capped at hi.
func backoff(lo, hi time.Duration, attemptNum int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(d, hi)
		}
	}
	return expJitter(lo, hi, attemptNum)
}

// expJitter returns a wait in [d/2, d] (and at least lo), where d is lo
// doubled attemptNum times, capped at hi.
func expJitter(lo, hi time.Duration, attemptNum int) time.Duration {
	d := lo
	for i := 0; i < attemptNum && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	if d <= 0 {
		return 0
	}
	w := d/2 + rand.N(d/2+1)
	return max(w, min(lo, hi))
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (a date in the past means now).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// clientTLS builds the client's TLS configuration from the files cfg
// names; problems are *field.Error values.
func clientTLS(cfg ClientConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, field.Errorf("ca_file", "cannot read: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, field.Errorf("ca_file", "holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, field.Errorf("cert_file", "cannot load the client certificate and key: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
