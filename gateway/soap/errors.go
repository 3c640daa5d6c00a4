package soap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel causes carried by a *TransportError (compare with errors.Is).
var (
	// ErrResponseTooLarge: the response body exceeded 16 MiB.
	ErrResponseTooLarge = errors.New("soap: response body exceeds 16 MiB")
	// ErrNoReply: the body held neither a SOAP fault nor a response element.
	ErrNoReply = errors.New("soap: response holds no SOAP reply")
	// ErrHTTPStatus: the server answered a non-2xx status without a SOAP
	// fault (after any retries the policy allowed).
	ErrHTTPStatus = errors.New("soap: unexpected HTTP status without a SOAP fault")
	// ErrInvalidChar: the HL7 message (or a credential) holds a byte
	// sequence XML 1.0 cannot carry: invalid UTF-8 or a control character
	// other than tab, LF and CR. Nothing was sent.
	ErrInvalidChar = errors.New("soap: payload holds a character XML 1.0 cannot carry")
)

// FaultKind types a SOAP fault by its detail element (CDC WSDL faults).
type FaultKind string

// The fault kinds. The first four are the CDC 2011/2014 WSDL faults; the
// Hub kinds are the IZ Gateway's own; FaultOther is any fault without a
// recognised detail element.
const (
	FaultUnknown              FaultKind = "UnknownFault" // detail element "fault" (2011)
	FaultSecurity             FaultKind = "SecurityFault"
	FaultMessageTooLarge      FaultKind = "MessageTooLargeFault"
	FaultUnsupportedOperation FaultKind = "UnsupportedOperationFault"
	FaultOther                FaultKind = "Fault" // a fault with none of the CDC detail elements

	// FaultUnknownDestination: the hub does not know the DestinationId.
	FaultUnknownDestination FaultKind = "UnknownDestinationFault"
	// FaultDestinationConnection: the hub could not reach the registry.
	FaultDestinationConnection FaultKind = "DestinationConnectionFault"
	// FaultHubClient: the hub rejected the request or the registry's answer.
	FaultHubClient FaultKind = "HubClientFault"
)

// faultKindOf maps a detail element's local name to its kind.
func faultKindOf(local string) (FaultKind, bool) {
	switch strings.ToLower(local) {
	case "fault", "unknownfault":
		return FaultUnknown, true
	case "securityfault":
		return FaultSecurity, true
	case "messagetoolargefault":
		return FaultMessageTooLarge, true
	case "unsupportedoperationfault":
		return FaultUnsupportedOperation, true
	case "unknowndestinationfault":
		return FaultUnknownDestination, true
	case "destinationconnectionfault":
		return FaultDestinationConnection, true
	case "hubclientfault":
		return FaultHubClient, true
	}
	return "", false
}

// elementName returns the detail element name of k ("fault" for
// FaultUnknown, as the 2011 WSDL names it), or "" for FaultOther.
func (k FaultKind) elementName() string {
	switch k {
	case FaultUnknown:
		return "fault"
	case FaultOther, "":
		return ""
	}
	return string(k)
}

// isHub reports whether k is one of the IZ Gateway's own faults.
func (k FaultKind) isHub() bool {
	return k == FaultUnknownDestination || k == FaultDestinationConnection || k == FaultHubClient
}

// Fault is a SOAP fault; it is an error. Reason, CDCReason and Detail are
// registry free text that may echo PHI: Error never prints them, and
// callers must not log them.
type Fault struct {
	Kind       FaultKind
	Code       string // SOAP 1.2 Code/Value or SOAP 1.1 faultcode, e.g. "soap:Receiver"
	Reason     string // SOAP Reason text / faultstring
	CDCCode    string // the CDC fault's Code element
	CDCReason  string // the CDC fault's Reason element
	Detail     string // the CDC fault's Detail text
	HTTPStatus int    // the HTTP status it came with (client); the status to send (server, 0 = 500)
	// Size and MaxSize are the 2014/hub MessageTooLargeFault's Size and
	// MaxSize in bytes; 0 when absent.
	Size, MaxSize int64
}

// Error returns the kind, the SOAP code and the CDC code only, e.g.
// "soap: SecurityFault (soap:Receiver, code 401)". Both codes are printed
// only if they look like a qualified name and an integer, so a registry
// cannot smuggle message text into a log line through them.
func (f *Fault) Error() string {
	kind := f.Kind
	if kind == "" {
		kind = FaultOther
	}
	var b strings.Builder
	b.WriteString("soap: ")
	b.WriteString(string(kind))
	code, cdc := safeQName(f.Code), safeInt(f.CDCCode)
	switch {
	case code != "" && cdc != "":
		fmt.Fprintf(&b, " (%s, code %s)", code, cdc)
	case code != "":
		fmt.Fprintf(&b, " (%s)", code)
	case cdc != "":
		fmt.Fprintf(&b, " (code %s)", cdc)
	}
	return b.String()
}

// GoString prints the fields that cannot hold registry free text, so %#v
// of a Fault is as safe to log as its Error.
func (f *Fault) GoString() string {
	return fmt.Sprintf("&soap.Fault{Kind:%q, Code:%q, CDCCode:%q, HTTPStatus:%d, Size:%d, MaxSize:%d}",
		f.Kind, safeQName(f.Code), safeInt(f.CDCCode), f.HTTPStatus, f.Size, f.MaxSize)
}

// Retryable reports whether the SOAP layer would retry f. It never does: a
// fault is an answer, and resending after a SecurityFault can lock the
// registry account, after MessageTooLarge or UnsupportedOperation it fails
// the same way, and after an UnknownFault the registry may already have
// processed the message. Every kind therefore reports false; the method
// exists so that callers ask rather than hard-code the rule. Whether a
// message deserves a later, queue-level retry (for example after a hub
// DestinationConnectionFault) is the caller's decision, made on Kind.
func (f *Fault) Retryable() bool { return false }

// isVersionMismatch reports whether f is a SOAP VersionMismatch fault.
func (f *Fault) isVersionMismatch() bool {
	_, local, _ := strings.Cut(f.Code, ":")
	if local == "" {
		local = f.Code
	}
	return strings.EqualFold(local, "VersionMismatch")
}

// safeQName returns s if it looks like a (prefixed) XML name of at most 64
// bytes, else "".
func safeQName(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r == ':' || r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return ""
		}
	}
	return s
}

// safeInt returns s if it is an integer of at most 20 digits, else "".
func safeInt(s string) string {
	if s == "" || len(s) > 20 {
		return ""
	}
	if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		return ""
	}
	return s
}

// TransportError is a failure with no usable SOAP reply (connect, timeout,
// TLS, an HTTP status without a fault, an unparseable body) after retries.
type TransportError struct {
	Attempts   int
	HTTPStatus int   // 0 when no HTTP response
	Err        error // cause; never contains the request body or password
	// Retryable reports whether the client's retry policy counts the last
	// attempt's outcome as passing (a timeout, a connection failure, 429 or
	// a 5xx without a fault), so a caller with its own, longer retries —
	// the engine's queue — may try again later. It is false for a TLS
	// verification failure, another 4xx, or a reply that is not SOAP.
	Retryable bool
}

// Error describes the cause, the attempts and the last HTTP status.
func (e *TransportError) Error() string {
	var b strings.Builder
	b.WriteString("soap: transport: ")
	if e.Err != nil {
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "soap: "))
	} else {
		b.WriteString("failed")
	}
	fmt.Fprintf(&b, " (attempts %d", e.Attempts)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ", HTTP %d", e.HTTPStatus)
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// HTTPError, returned by a Handler, makes the server answer a bare HTTP
// error with no SOAP body, e.g. 503 with Retry-After.
type HTTPError struct {
	Status     int           // HTTP status; 0 means 503
	RetryAfter time.Duration // sent as Retry-After in whole seconds (rounded up) when > 0
}

// Error returns "soap: HTTP <status>".
func (e *HTTPError) Error() string {
	return fmt.Sprintf("soap: HTTP %d", e.status())
}

func (e *HTTPError) status() int {
	if e.Status == 0 {
		return 503
	}
	return e.Status
}
