package channels

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
)

// A Destination delivers one payload (HL7 wire bytes) to one peer.
//
// Send is called by the destination's queue worker, one call at a time
// unless the kind has a concurrency setting (iis), whose Send must then be
// safe for concurrent use; ctx
// bounds the attempt (the worker's shutdown and, for kinds without a timeout
// of their own, the attempt's deadline). reply is the peer's response: the
// ACK payload for MLLP, the response body for HTTP, nil for a file. reply is
// nil whenever err is not nil.
//
// retry reports whether the same attempt may succeed later (a timeout, a
// refused or reset connection, HTTP 408/429/5xx, no MLLP ACK in time, an ACK
// out of step with the message); when it is false the worker dead-letters
// the delivery. An ACK with MSA-1 AE or AR is not an error: Send returns it
// with retry false and a nil err, and the worker classifies it. Errors never
// contain payload or reply content, so they are safe to log and to store.
//
// Close releases the destination's connections after the worker has
// stopped; ctx bounds it. No Send may be in flight or follow.
type Destination interface {
	Send(ctx context.Context, payload []byte) (reply []byte, retry bool, err error)
	Close(ctx context.Context) error
}

// Interface guards, one per kind.
var (
	_ Destination = (*mllpDestination)(nil)
	_ Destination = (*httpDestination)(nil)
	_ Destination = (*fileDestination)(nil)
)

// Errors of the destinations. Compare with errors.Is; none carries message
// content.
var (
	// ErrHTTPStatus means an HTTP destination answered with a status outside
	// 2xx. It is wrapped by an *HTTPStatusError.
	ErrHTTPStatus = errors.New("channels: http destination answered an error status")
	// ErrReplyTooLarge means a peer's reply exceeded the destination's limit.
	ErrReplyTooLarge = errors.New("channels: reply too large")
	// ErrReplyNotACK means an MLLP peer replied with something that is not
	// an HL7 acknowledgement (it did not parse or has no MSA).
	ErrReplyNotACK = errors.New("channels: reply is not an HL7 acknowledgement")
	// ErrPayloadNotHL7 means a payload handed to a destination that needs
	// its MSH-10 did not parse.
	ErrPayloadNotHL7 = errors.New("channels: payload is not an HL7 message")
	// ErrNoDestinationKind means a DestinationConfig sets no kind (or
	// several) that the component table knows.
	ErrNoDestinationKind = errors.New("channels: destination must set exactly one known kind")
)

// HTTPStatusError is an HTTP destination's non-2xx answer. It names the
// status code and the URL host only: the response body may echo PHI and
// the URL path or query may hold tokens.
type HTTPStatusError struct {
	StatusCode int
	Host       string
}

// Error returns e.g. "channels: registry.example.org answered 503 Service Unavailable".
func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("channels: %s answered %d %s", e.Host, e.StatusCode, http.StatusText(e.StatusCode))
}

// Unwrap returns ErrHTTPStatus.
func (e *HTTPStatusError) Unwrap() error { return ErrHTTPStatus }

// retryableStatus reports whether an HTTP status may change on a later
// attempt: 408 Request Timeout, 429 Too Many Requests and every 5xx except
// 501 Not Implemented (as go-retryablehttp's DefaultRetryPolicy decides).
func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented:
		return false
	default:
		return code >= 500 && code <= 599
	}
}

// retryableTransport reports whether a transport error (dial, TLS, write,
// read) may go away on a later attempt. A server certificate that does not
// verify will not: like go-retryablehttp's DefaultRetryPolicy, we give up at
// once, so the dead letter tells the operator to fix the trust settings.
// Everything else (refused, reset, timeout, DNS, a closed connection) is
// worth another attempt; the worker's max_attempts and max_age bound it.
func retryableTransport(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		header   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid):
		return false
	case errors.As(err, &header):
		return false // the peer does not speak TLS on that port
	}
	return true
}
