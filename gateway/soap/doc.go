// Package soap carries HL7 v2 messages to and from immunization registries
// over the CDC IIS SOAP web service.
//
// It owns bytes on the wire and nothing else: the Client (submitSingleMessage
// and connectivityTest with TLS/mTLS, keep-alive and a retry policy), the
// lenient reply parser, and the server helpers (NewServer, Handler) that the
// embedded IIS sandbox and tests use to play the registry. It never parses
// HL7 beyond recognising that a reply starts with MSH: classifying an ACK
// is the caller's job (transforms/iis).
//
// Imports: the standard library, github.com/hashicorp/go-retryablehttp and
// github.com/iisync/iisync/conf/field. Never transforms, channels, conf or a
// logger: the package does not log; it returns errors.
//
// # Profiles
//
// The WSDL variants are data (a row of element names, namespaces and
// actions each), selected by Profile.WSDL:
//
//	"2011"  urn:cdc:iisb:2011     submitSingleMessage{username,password,facilityID,hl7Message} -> submitSingleMessageResponse{return}
//	                              connectivityTest{echoBack} -> connectivityTestResponse{return}
//	"2014"  urn:cdc:iisb:2014     SubmitSingleMessageRequest{Username,Password,FacilityID,Hl7Message} -> SubmitSingleMessageResponse{Hl7Message}
//	                              ConnectivityTestRequest{EchoBack} -> ConnectivityTestResponse{EchoBack}
//	                              + WS-Addressing headers Action, MessageID, To
//	"hub"   the 2014 body         + hub:HubRequestHeader{DestinationId[, DestinationUri]} (urn:cdc:iisb:hub:2014),
//	                              actions urn:cdc:iisb:hub:2014:IISHubPortType:*
//
// SOAP 1.2 (the default) sends Content-Type application/soap+xml with the
// action parameter; SOAP 1.1 sends text/xml and a SOAPAction header.
// Profile.Fallback11 resends once in SOAP 1.1, and stays there, when a SOAP
// 1.2 request is answered with HTTP 415 or a VersionMismatch fault.
//
// # Wire details
//
// The HL7 payload is written byte for byte except that & < > become
// entities and CR becomes &#xD;, which survives the line-end normalisation
// every XML parser applies (a raw CR would arrive as LF). A payload that XML
// 1.0 cannot carry (invalid UTF-8, control characters) is refused with
// ErrInvalidChar before anything is sent.
//
// Replies are parsed leniently with encoding/xml token streaming: any
// namespace prefix, either SOAP version, CDATA, a result element called
// return, Hl7Message, EchoBack, message or *Result anywhere inside the body's
// response element, and junk after it. Submit normalises the HL7 reply: CR
// segment terminators (LF and CRLF become CR), surrounding whitespace
// trimmed, and base64 or URL-encoded replies decoded when they are
// recognisably such. A response body over 16 MiB is an error.
//
// # Retry policy
//
// One Submit makes 1 + ClientConfig.MaxRetries HTTP attempts at most, each
// bounded by ClientConfig.Timeout, with exponential backoff and jitter
// between RetryWaitMin and RetryWaitMax; ctx bounds the whole call.
//
//	outcome of an attempt                                  retried?
//	timeout (connect, TLS handshake, response)             yes
//	connection refused, reset, aborted, EOF                yes
//	HTTP 5xx whose body is not a SOAP fault                yes (not 501, 505)
//	HTTP 429, HTTP 503 without a fault                     yes, after Retry-After (seconds or HTTP-date), capped at RetryWaitMax
//	a SOAP fault of any kind, any HTTP status              never (a SecurityFault retried can lock the account)
//	HTTP 4xx other than 429 (including 3xx, not followed)  never
//	TLS certificate verification or handshake failure      never
//	response body over 16 MiB, 2xx without a SOAP reply    never
//
// A retry after a timeout may deliver a message twice: the registry may
// have processed the first attempt. Registries and the caller deduplicate
// on MSH-10.
//
// # Errors
//
// Submit and ConnectivityTest return a *Fault when the registry answered
// with a SOAP fault (Kind types it by its CDC detail element), a
// *TransportError when no usable reply came, or a wrapped ErrInvalidChar.
//
// # PHI and secrets
//
// Payloads, replies and fault texts are PHI; the password is a secret.
// No error of this package contains any of them: Fault.Error prints only
// the kind, the SOAP code and the CDC code (each checked to be a name or a
// number), TransportError carries causes that never include the request or
// response body, and URLs in errors lose their query. The password is
// revealed in one place (NewClient), escaped once and only copied into
// request bodies; Client prints as its endpoint. Fault.Reason, CDCReason
// and Detail hold registry free text and must not be logged.
package soap
