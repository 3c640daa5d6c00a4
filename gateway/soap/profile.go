package soap

import (
	"fmt"
	"strings"
)

// Version is the SOAP envelope version. The zero value is SOAP 1.2, the
// version every CDC WSDL binds.
type Version int

// The SOAP envelope versions.
const (
	// SOAP12 is SOAP 1.2: envelope namespace
	// http://www.w3.org/2003/05/soap-envelope, Content-Type
	// application/soap+xml with the action as a parameter.
	SOAP12 Version = iota
	// SOAP11 is SOAP 1.1: envelope namespace
	// http://schemas.xmlsoap.org/soap/envelope/, Content-Type text/xml and a
	// SOAPAction header (for example California's CAIR).
	SOAP11
)

// String returns "1.2" or "1.1".
func (v Version) String() string {
	switch v {
	case SOAP12:
		return "1.2"
	case SOAP11:
		return "1.1"
	}
	return fmt.Sprintf("Version(%d)", int(v))
}

// MarshalText returns the form String returns, so a configuration dump
// shows "1.2" rather than 0.
func (v Version) MarshalText() ([]byte, error) {
	if v != SOAP12 && v != SOAP11 {
		return nil, fmt.Errorf("soap: unknown version %d", int(v))
	}
	return []byte(v.String()), nil
}

// UnmarshalText accepts "1.2" or "1.1" (also "soap12", "soap11" and "");
// the empty string is SOAP 1.2.
func (v *Version) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "", "1.2", "12", "soap12", "soap1.2":
		*v = SOAP12
	case "1.1", "11", "soap11", "soap1.1":
		*v = SOAP11
	default:
		return fmt.Errorf("soap: version must be 1.1 or 1.2, got %q", b)
	}
	return nil
}

// The WSDL variants a Profile may name ("profiles as data": each is a row of
// element names, namespaces and actions, not code).
const (
	// WSDL2011 is the CDC 2011 WSDL, namespace urn:cdc:iisb:2011: the one
	// state registries implement (the default).
	WSDL2011 = "2011"
	// WSDL2014 is the CDC 2014 WSDL, namespace urn:cdc:iisb:2014, with the
	// WS-Addressing headers Action, MessageID and To.
	WSDL2014 = "2014"
	// WSDLHub is the CDC IZ Gateway hub WSDL: the 2014 body plus the
	// HubRequestHeader (namespace urn:cdc:iisb:hub:2014) that names the
	// destination jurisdiction.
	WSDLHub = "hub"
)

// Profile selects how requests are shaped for one registry.
type Profile struct {
	// WSDL is WSDL2011 (default), WSDL2014 or WSDLHub.
	WSDL string `yaml:"wsdl"`
	// Version is the SOAP envelope version; default SOAP 1.2.
	Version Version `yaml:"version"`
	// Fallback11, when the server answers a SOAP 1.2 request with HTTP 415
	// or a VersionMismatch fault, makes the client resend once in SOAP 1.1
	// and keep using SOAP 1.1 from then on.
	Fallback11 bool `yaml:"fallback_11"`
	// HubDestinationID is the IZ Gateway destination (jurisdiction) id
	// (hub only; required there).
	HubDestinationID string `yaml:"hub_destination_id"`
	// HubDestinationURI overrides the destination endpoint where the hub
	// allows it (hub only, optional).
	HubDestinationURI string `yaml:"hub_destination_uri"`
}

// Namespaces used on the wire.
const (
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsWSA    = "http://www.w3.org/2005/08/addressing"
	ns2011   = "urn:cdc:iisb:2011"
	ns2014   = "urn:cdc:iisb:2014"
	nsHub    = "urn:cdc:iisb:hub:2014"
)

// op is one CDC IIS operation.
type op int

const (
	opSubmit op = iota
	opConnectivity
)

// variant holds everything that differs between the WSDLs: the body
// namespace, the element names of requests and responses, and the actions.
// The 2011 names come from cdc-iis-2011.xsd, the 2014 and hub names from
// cdc-iis.xsd and cdc-iis-hub.xsd (IZ Gateway copies, shared testdata/wsdl).
type variant struct {
	wsdl       string
	ns         string // body namespace
	wsa        bool   // WS-Addressing headers
	hub        bool   // HubRequestHeader / HubResponseHeader
	submit     string // request element names
	connect    string
	submitResp string // response element names
	connResp   string
	username   string // submit request children
	password   string
	facility   string
	message    string
	echo       string // connectivity request child
	ret        string // submit response child
	echoRet    string // connectivity response child
	actions    [2]string
	respAct    [2]string
}

var (
	v2011 = &variant{
		wsdl: WSDL2011, ns: ns2011,
		submit: "submitSingleMessage", connect: "connectivityTest",
		submitResp: "submitSingleMessageResponse", connResp: "connectivityTestResponse",
		username: "username", password: "password", facility: "facilityID", message: "hl7Message",
		echo: "echoBack", ret: "return", echoRet: "return",
		actions: [2]string{"urn:cdc:iisb:2011:submitSingleMessage", "urn:cdc:iisb:2011:connectivityTest"},
		respAct: [2]string{"urn:cdc:iisb:2011:submitSingleMessageResponse", "urn:cdc:iisb:2011:connectivityTestResponse"},
	}
	v2014 = &variant{
		wsdl: WSDL2014, ns: ns2014, wsa: true,
		submit: "SubmitSingleMessageRequest", connect: "ConnectivityTestRequest",
		submitResp: "SubmitSingleMessageResponse", connResp: "ConnectivityTestResponse",
		username: "Username", password: "Password", facility: "FacilityID", message: "Hl7Message",
		echo: "EchoBack", ret: "Hl7Message", echoRet: "EchoBack",
		actions: [2]string{"urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageRequest", "urn:cdc:iisb:2014:IISPortType:ConnectivityTestRequest"},
		respAct: [2]string{"urn:cdc:iisb:2014:IISPortType:SubmitSingleMessageResponse", "urn:cdc:iisb:2014:IISPortType:ConnectivityTestResponse"},
	}
	vHub = &variant{
		wsdl: WSDLHub, ns: ns2014, wsa: true, hub: true,
		submit: v2014.submit, connect: v2014.connect,
		submitResp: v2014.submitResp, connResp: v2014.connResp,
		username: v2014.username, password: v2014.password, facility: v2014.facility, message: v2014.message,
		echo: v2014.echo, ret: v2014.ret, echoRet: v2014.echoRet,
		actions: [2]string{"urn:cdc:iisb:hub:2014:IISHubPortType:SubmitSingleMessageRequest", "urn:cdc:iisb:hub:2014:IISHubPortType:ConnectivityTestRequest"},
		respAct: [2]string{"urn:cdc:iisb:hub:2014:IISHubPortType:SubmitSingleMessageResponse", "urn:cdc:iisb:hub:2014:IISHubPortType:ConnectivityTestResponse"},
	}
)

// variantOf returns the row for a Profile.WSDL value, or nil if unknown.
func variantOf(wsdl string) *variant {
	switch wsdl {
	case "", WSDL2011:
		return v2011
	case WSDL2014:
		return v2014
	case WSDLHub:
		return vHub
	}
	return nil
}

// envNS returns the envelope namespace of v.
func envNS(v Version) string {
	if v == SOAP11 {
		return nsSOAP11
	}
	return nsSOAP12
}

// contentType returns the request Content-Type for v and action. SOAP 1.2
// carries the action as a media-type parameter; SOAP 1.1 carries it in the
// SOAPAction header instead.
func contentType(v Version, action string) string {
	if v == SOAP11 {
		return "text/xml; charset=utf-8"
	}
	if action == "" {
		return "application/soap+xml; charset=utf-8"
	}
	return `application/soap+xml; charset=utf-8; action="` + action + `"`
}
