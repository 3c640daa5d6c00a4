package channels

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/iisync/iisync/conf/field"
)

// hl7ContentType is the media type of an ER7-encoded HL7 v2 body.
const hl7ContentType = "x-application/hl7-v2+er7"

// maxHTTPReplyBytes bounds the response body an HTTP destination reads.
const maxHTTPReplyBytes = 16 << 20

// errHTTPTimeout is the cause of an attempt that ran out of its timeout.
var errHTTPTimeout = errors.New("channels: http destination timed out")

// httpDestination POSTs each payload to one URL. Retries are the queue
// worker's job: Send makes exactly one request.
type httpDestination struct {
	url     string
	host    string // the only part of the URL that errors show
	header  http.Header
	auth    field.Secret
	timeout time.Duration
	client  *http.Client
	log     zerolog.Logger
}

// buildHTTPDestination is the component table's constructor for "http".
func buildHTTPDestination(cfg DestinationConfig, log zerolog.Logger) (Destination, error) {
	return newHTTPDestination(*cfg.HTTP, log)
}

// newHTTPDestination returns a destination for cfg (defaults applied by
// the caller). It opens no connection, but it does read CAFile: a missing or
// bad CA file should fail Engine.Apply, which builds every destination before
// swapping, rather than dead-letter the first message after a reload.
func newHTTPDestination(cfg HTTPDestinationConfig, log zerolog.Logger) (*httpDestination, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("channels: http destination url must be an http(s) URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("channels: read http ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("channels: http ca_file holds no PEM certificate")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	h := make(http.Header, len(cfg.Headers)+1)
	h.Set("Content-Type", hl7ContentType)
	for k, v := range cfg.Headers {
		h.Set(k, v) // may override Content-Type on purpose
	}
	return &httpDestination{
		url:     u.String(),
		host:    u.Host,
		header:  h,
		auth:    cfg.Authorization,
		timeout: cfg.Timeout,
		client: &http.Client{
			Transport: tr,
			// A redirect would re-send PHI to wherever the peer points;
			// a 3xx is answered as an error instead (retry false).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		log: log,
	}, nil
}

// Send POSTs payload once, bounded by the configured timeout and ctx.
// A 2xx answer returns its body as reply. 408, 429 and 5xx (but 501) are
// errors with retry true; any other status is an error with retry false.
// Errors name the status code and the URL host, never the body (a registry
// may echo the message) nor the path or query (they may hold a token).
func (d *httpDestination) Send(ctx context.Context, payload []byte) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, d.timeout, errHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(payload))
	if err != nil {
		return nil, false, fmt.Errorf("channels: http request to %s: %w", d.host, err)
	}
	req.Header = d.header.Clone()
	if a := d.auth.Reveal(); a != "" { // the one place the credential is revealed
		req.Header.Set("Authorization", a)
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, d.transportRetry(ctx, err), d.transportError(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused; never keep it.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, retryableStatus(resp.StatusCode), &HTTPStatusError{StatusCode: resp.StatusCode, Host: d.host}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPReplyBytes+1))
	if err != nil {
		return nil, d.transportRetry(ctx, err), d.transportError(ctx, err)
	}
	if len(body) > maxHTTPReplyBytes {
		return nil, false, fmt.Errorf("channels: %s answered %d with more than %d bytes: %w",
			d.host, resp.StatusCode, maxHTTPReplyBytes, ErrReplyTooLarge)
	}
	d.log.Debug().Int("status", resp.StatusCode).Int("bytes", len(payload)).
		Int("reply_bytes", len(body)).Dur("duration", time.Since(start)).Msg("posted")
	return body, false, nil
}

// transportError describes a failed request by host and cause only: a
// *url.Error would print the whole URL.
func (d *httpDestination) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	} else if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	return fmt.Errorf("channels: post to %s: %w", d.host, err)
}

// transportRetry reports whether a failed request may succeed later.
func (d *httpDestination) transportRetry(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true // our timeout, or the worker is stopping: the item stays queued
	}
	return retryableTransport(err)
}

// Close closes idle keep-alive connections.
func (d *httpDestination) Close(context.Context) error {
	d.client.CloseIdleConnections()
	return nil
}
