package soap

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/iisync/iisync/conf/field"
)

// DefaultMaxRequestBytes is ServerOptions.MaxRequestBytes' default.
const DefaultMaxRequestBytes = 16 << 20

// wsdl2011 is the CDC 2011 WSDL with its schema inlined; see
// wsdl/README.md for its source.
//
//go:embed wsdl/cdc-iis-2011.wsdl
var wsdl2011 []byte

// Handler answers CDC IIS operations for NewServer. Its methods are called
// concurrently, one call per HTTP request, with the request's context.
// Returning a *Fault sends that SOAP fault (HTTP 500 unless
// Fault.HTTPStatus is set); returning an *HTTPError sends a bare HTTP
// error (e.g. 503 with Retry-After) with no SOAP body; any other error is
// answered with an UnknownFault that does not quote it.
type Handler interface {
	// SubmitSingleMessage returns the HL7 reply (CR-separated).
	SubmitSingleMessage(ctx context.Context, req SubmitRequest) ([]byte, error)
	// ConnectivityTest returns the text to answer with (CDC: the echo).
	ConnectivityTest(ctx context.Context, echo string) (string, error)
}

// SubmitRequest is one submitSingleMessage call as the server decoded it.
type SubmitRequest struct {
	Username   string
	Password   field.Secret
	FacilityID string
	Message    []byte  // decoded HL7, CR terminators (normalised as Client.Submit does replies)
	Version    Version // envelope version of the request
	WSDL       string  // which variant the request used (by namespace and hub header)
	// DestinationID is the hub request header's DestinationId (hub only).
	DestinationID string
}

// ServerOptions configures NewServer.
type ServerOptions struct {
	// WSDL is served on GET ?wsdl with its soap:address location rewritten
	// to the request's URL; nil means the embedded CDC 2011 WSDL.
	WSDL []byte
	// MaxRequestBytes caps a request body; default 16 MiB. A larger body
	// is answered with a MessageTooLargeFault.
	MaxRequestBytes int64
}

// NewServer returns an http.Handler that speaks the CDC IIS SOAP service
// on any path: POST carries SOAP requests, GET ?wsdl returns the WSDL.
// It answers in the request's SOAP version, understands the 2011, 2014 and
// hub request namespaces, answers an unknown operation with an
// UnsupportedOperationFault and malformed XML with a Sender (SOAP 1.1:
// Client) UnknownFault, and an envelope namespace that is neither SOAP
// version with a VersionMismatch fault. Of the SOAP headers it reads only
// wsa:MessageID (echoed as RelatesTo) and the hub request header; others,
// mustUnderstand or not, are ignored.
func NewServer(h Handler, opts ServerOptions) http.Handler {
	if opts.WSDL == nil {
		opts.WSDL = wsdl2011
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return &server{h: h, opts: opts}
}

type server struct {
	h    Handler
	opts ServerOptions
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.serveSOAP(w, r)
	case http.MethodGet, http.MethodHead:
		if !wantsWSDL(r) {
			http.Error(w, "POST a SOAP request, or GET ?wsdl", http.StatusMethodNotAllowed)
			return
		}
		s.serveWSDL(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func wantsWSDL(r *http.Request) bool {
	if strings.EqualFold(r.URL.RawQuery, "wsdl") {
		return true
	}
	q := r.URL.Query()
	return q.Has("wsdl") || q.Has("WSDL")
}

var addressRE = regexp.MustCompile(`(<(?:[A-Za-z_][\w.-]*:)?address\s+location=")[^"]*(")`)

// serveWSDL writes the WSDL with every soap/soap12 address pointing at the
// URL the request came to.
func (s *server) serveWSDL(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	loc := appendAttr(nil, scheme+"://"+r.Host+r.URL.EscapedPath())
	out := addressRE.ReplaceAllFunc(s.opts.WSDL, func(m []byte) []byte {
		sub := addressRE.FindSubmatch(m)
		return append(append(append([]byte{}, sub[1]...), loc...), sub[2]...)
	})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(out)
}

// inbound is a decoded request.
type inbound struct {
	version  Version
	v        *variant
	op       op
	known    bool // op is a CDC operation
	user     string
	pass     string
	facility string
	payload  []byte
	msgID    string // wsa:MessageID, echoed as RelatesTo
	destID   string // hub DestinationId
	destURI  string // hub DestinationUri
}

func (s *server) serveSOAP(w http.ResponseWriter, r *http.Request) {
	ver := versionFromContentType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		in := sniff(body, ver)
		size := r.ContentLength
		if size <= s.opts.MaxRequestBytes {
			size = s.opts.MaxRequestBytes + 1
		}
		writeFault(w, in, &Fault{
			Kind: FaultMessageTooLarge, Code: "soap:Sender", Reason: "Message too large",
			CDCCode: "413", CDCReason: "MessageTooLarge",
			Detail: fmt.Sprintf("The request exceeds the maximum of %d bytes", s.opts.MaxRequestBytes),
			Size:   size, MaxSize: s.opts.MaxRequestBytes,
		})
		return
	}
	in, f := parseRequest(body, ver)
	if f != nil {
		writeFault(w, in, f)
		return
	}
	if !in.known {
		writeFault(w, in, &Fault{
			Kind: FaultUnsupportedOperation, Code: "soap:Sender", Reason: "Unsupported operation",
			CDCCode: "400", CDCReason: "UnsupportedOperation",
			Detail: "Expected submitSingleMessage or connectivityTest",
		})
		return
	}
	var text []byte
	switch in.op {
	case opSubmit:
		text, err = s.h.SubmitSingleMessage(r.Context(), SubmitRequest{
			Username: in.user, Password: field.NewSecret(in.pass), FacilityID: in.facility,
			Message: normalizeHL7(in.payload), Version: in.version, WSDL: in.v.wsdl,
			DestinationID: in.destID,
		})
	case opConnectivity:
		var echo string
		echo, err = s.h.ConnectivityTest(r.Context(), string(in.payload))
		text = []byte(echo)
	}
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			if he.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.FormatInt(int64((he.RetryAfter+time.Second-1)/time.Second), 10))
			}
			http.Error(w, http.StatusText(he.status()), he.status())
			return
		}
		var hf *Fault
		if !errors.As(err, &hf) {
			hf = &Fault{Kind: FaultUnknown, Code: "soap:Receiver", Reason: "Internal error",
				CDCCode: "500", CDCReason: "UnknownFault", Detail: "The service could not process the request"}
		}
		writeFault(w, in, hf)
		return
	}
	writeResponse(w, in, text)
}

// versionFromContentType guesses the envelope version from the media
// type: text/xml is SOAP 1.1, anything else SOAP 1.2.
func versionFromContentType(ct string) Version {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == "text/xml" {
		return SOAP11
	}
	return SOAP12
}

// sniff guesses, from the first bytes of a body too large to parse, the
// version and variant to answer in.
func sniff(prefix []byte, ver Version) *inbound {
	in := &inbound{version: ver, v: v2011}
	if bytes.Contains(prefix, []byte(nsSOAP11)) {
		in.version = SOAP11
	} else if bytes.Contains(prefix, []byte(nsSOAP12)) {
		in.version = SOAP12
	}
	switch {
	case bytes.Contains(prefix, []byte(nsHub)):
		in.v = vHub
	case bytes.Contains(prefix, []byte(ns2014)):
		in.v = v2014
	}
	return in
}

// node is an element of a parsed request.
type node struct {
	name xml.Name
	text []byte // direct character data, CDATA included
	kids []*node
}

// child returns the first child element named local (any namespace, any
// letter case).
func (n *node) child(local string) *node {
	for _, k := range n.kids {
		if strings.EqualFold(k.name.Local, local) {
			return k
		}
	}
	return nil
}

// parseTree parses a whole document strictly into a tree of elements.
func parseTree(body []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	d.CharsetReader = charsetReader
	var root *node
	var stack []*node
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root == nil {
				return nil, errors.New("no element")
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				n.text = append(n.text, t...)
			}
		}
	}
}

// parseRequest decodes a SOAP request. A non-nil fault is the answer to
// send instead of calling the handler; in is never nil.
func parseRequest(body []byte, ver Version) (*inbound, *Fault) {
	in := sniff(body, ver)
	root, err := parseTree(body)
	if err != nil {
		return in, &Fault{Kind: FaultUnknown, Code: "soap:Sender", Reason: "Malformed XML",
			CDCCode: "400", CDCReason: "UnknownFault", Detail: "The request is not well-formed XML"}
	}
	if !strings.EqualFold(root.name.Local, "Envelope") {
		return in, &Fault{Kind: FaultUnknown, Code: "soap:Sender", Reason: "Not a SOAP envelope",
			CDCCode: "400", CDCReason: "UnknownFault", Detail: "The document element is not a SOAP Envelope"}
	}
	switch root.name.Space {
	case nsSOAP12:
		in.version = SOAP12
	case nsSOAP11:
		in.version = SOAP11
	default:
		in.version = SOAP12
		return in, &Fault{Kind: FaultOther, Code: "soap:VersionMismatch", Reason: "Unsupported SOAP envelope namespace"}
	}
	hubHeader := false
	if h := root.child("Header"); h != nil {
		if n := h.child("MessageID"); n != nil {
			in.msgID = strings.TrimSpace(string(n.text))
		}
		if hh := h.child("HubRequestHeader"); hh != nil {
			hubHeader = true
			if n := hh.child("DestinationId"); n != nil {
				in.destID = strings.TrimSpace(string(n.text))
			}
			if n := hh.child("DestinationUri"); n != nil {
				in.destURI = strings.TrimSpace(string(n.text))
			}
		}
	}
	b := root.child("Body")
	if b == nil || len(b.kids) == 0 {
		return in, &Fault{Kind: FaultUnknown, Code: "soap:Sender", Reason: "Empty SOAP Body",
			CDCCode: "400", CDCReason: "UnknownFault", Detail: "The SOAP Body holds no operation"}
	}
	opEl := b.kids[0]
	local := opEl.name.Local
	switch opEl.name.Space {
	case ns2011:
		in.v = v2011
	case ns2014:
		in.v = v2014
	case nsHub:
		in.v = vHub
	default: // unqualified or an unknown namespace: go by the name
		if strings.HasSuffix(local, "Request") {
			in.v = v2014
		} else {
			in.v = v2011
		}
	}
	if in.v == v2014 && hubHeader {
		in.v = vHub
	}
	text := func(name string) []byte {
		if n := opEl.child(name); n != nil {
			return n.text
		}
		return nil
	}
	switch {
	case strings.EqualFold(local, in.v.submit) || strings.EqualFold(local, "submitSingleMessage") || strings.EqualFold(local, "SubmitSingleMessageRequest"):
		in.op, in.known = opSubmit, true
		in.user = strings.TrimSpace(string(text("username")))
		in.pass = string(text("password"))
		in.facility = strings.TrimSpace(string(text("facilityID")))
		in.payload = text("hl7Message")
	case strings.EqualFold(local, in.v.connect) || strings.EqualFold(local, "connectivityTest") || strings.EqualFold(local, "ConnectivityTestRequest"):
		in.op, in.known = opConnectivity, true
		in.payload = text("echoBack")
	}
	return in, nil
}

// soapCode maps a fault code to the envelope version's vocabulary with our
// "soap" prefix: Sender/Client and Receiver/Server swap between versions;
// an empty or unknown code is the receiver's.
func soapCode(code string, v Version) string {
	local := code
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		local = code[i+1:]
	}
	switch strings.ToLower(local) {
	case "sender", "client":
		local = "Sender"
	case "versionmismatch":
		local = "VersionMismatch"
	case "mustunderstand":
		local = "MustUnderstand"
	case "dataencodingunknown":
		local = "DataEncodingUnknown"
	default:
		local = "Receiver"
	}
	if v == SOAP11 {
		switch local {
		case "Sender":
			local = "Client"
		case "Receiver", "DataEncodingUnknown":
			local = "Server"
		}
	}
	return "soap:" + local
}

// envelopeStart appends the envelope start and, for 2014 and hub, the
// WS-Addressing and hub response headers.
func envelopeStart(dst []byte, in *inbound, action string) []byte {
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<soap:Envelope xmlns:soap="`...)
	dst = append(dst, envNS(in.version)...)
	dst = append(dst, `">`...)
	if !in.v.wsa && !in.v.hub {
		return dst
	}
	dst = append(dst, "<soap:Header>"...)
	if in.v.wsa {
		dst = append(dst, `<wsa:Action xmlns:wsa="`+nsWSA+`">`...)
		dst = appendText(dst, action)
		dst = append(dst, `</wsa:Action><wsa:MessageID xmlns:wsa="`+nsWSA+`">`...)
		dst = append(dst, newMessageID()...)
		dst = append(dst, "</wsa:MessageID>"...)
		if in.msgID != "" {
			dst = append(dst, `<wsa:RelatesTo xmlns:wsa="`+nsWSA+`">`...)
			dst = appendText(dst, in.msgID)
			dst = append(dst, "</wsa:RelatesTo>"...)
		}
	}
	if in.v.hub {
		dst = append(dst, `<hub:HubResponseHeader xmlns:hub="`+nsHub+`"><hub:DestinationId>`...)
		dst = appendText(dst, in.destID)
		dst = append(dst, "</hub:DestinationId><hub:DestinationUri>"...)
		dst = appendText(dst, in.destURI)
		dst = append(dst, "</hub:DestinationUri></hub:HubResponseHeader>"...)
	}
	return append(dst, "</soap:Header>"...)
}

// writeResponse answers an operation with its result text.
func writeResponse(w http.ResponseWriter, in *inbound, text []byte) {
	name, ret := in.v.submitResp, in.v.ret
	if in.op == opConnectivity {
		name, ret = in.v.connResp, in.v.echoRet
	}
	action := in.v.respAct[in.op]
	dst := make([]byte, 0, len(text)+len(text)/16+768)
	dst = envelopeStart(dst, in, action)
	dst = append(dst, `<soap:Body><iis:`...)
	dst = append(dst, name...)
	dst = append(dst, ` xmlns:iis="`...)
	dst = append(dst, in.v.ns...)
	dst = append(dst, `">`...)
	dst = openTag(dst, ret)
	var err error
	if dst, err = appendEscaped(dst, text); err != nil {
		writeFault(w, in, &Fault{Kind: FaultUnknown, Code: "soap:Receiver", Reason: "Internal error",
			CDCCode: "500", CDCReason: "UnknownFault", Detail: "The reply holds a character XML cannot carry"})
		return
	}
	dst = closeTag(dst, ret)
	dst = closeTag(dst, name)
	dst = append(dst, "</soap:Body></soap:Envelope>"...)
	send(w, in.version, action, http.StatusOK, dst)
}

// writeFault answers with f in the request's version and WSDL variant:
// the 2011 shape is <ns:Kind xmlns:ns="urn:cdc:iisb:2011"> with Code,
// Reason and Detail children (as the CDC 2011 WSDL declares); 2014 and hub
// faults are the (empty, or Size/MaxSize) 2014 element followed by
// unqualified Code, Summary and Detail, as the IZ Gateway writes them.
func writeFault(w http.ResponseWriter, in *inbound, f *Fault) {
	kind := f.Kind
	if kind == "" {
		kind = FaultOther
	}
	action := ""
	if in.v.wsa {
		action = strings.TrimSuffix(in.v.actions[in.op], "Request") + ":Fault:" + string(kind)
	}
	dst := make([]byte, 0, 1024)
	dst = envelopeStart(dst, in, action)
	dst = append(dst, "<soap:Body><soap:Fault>"...)
	code := soapCode(f.Code, in.version)
	if in.version == SOAP11 {
		dst = append(dst, "<faultcode>"...)
		dst = append(dst, code...)
		dst = append(dst, "</faultcode><faultstring>"...)
		dst = appendText(dst, f.Reason)
		dst = append(dst, "</faultstring>"...)
	} else {
		dst = append(dst, "<soap:Code><soap:Value>"...)
		dst = append(dst, code...)
		dst = append(dst, `</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">`...)
		dst = appendText(dst, f.Reason)
		dst = append(dst, "</soap:Text></soap:Reason>"...)
	}
	if el := kind.elementName(); el != "" {
		if in.version == SOAP11 {
			dst = append(dst, "<detail>"...)
		} else {
			dst = append(dst, "<soap:Detail>"...)
		}
		dst = appendDetail(dst, in, f, el)
		if in.version == SOAP11 {
			dst = append(dst, "</detail>"...)
		} else {
			dst = append(dst, "</soap:Detail>"...)
		}
	}
	dst = append(dst, "</soap:Fault></soap:Body></soap:Envelope>"...)
	status := f.HTTPStatus
	if status == 0 {
		status = http.StatusInternalServerError
	}
	send(w, in.version, action, status, dst)
}

// defaultCDCReason is the fixed Reason the 2011 WSDL gives each kind.
func defaultCDCReason(k FaultKind) string {
	switch k {
	case FaultSecurity:
		return "Security"
	case FaultMessageTooLarge:
		return "MessageTooLarge"
	case FaultUnsupportedOperation:
		return "UnsupportedOperation"
	}
	return string(k)
}

// appendDetail appends the CDC detail element el of f.
func appendDetail(dst []byte, in *inbound, f *Fault, el string) []byte {
	reason := f.CDCReason
	if reason == "" {
		reason = defaultCDCReason(f.Kind)
	}
	code := safeInt(f.CDCCode)
	if in.v == v2011 && !f.Kind.isHub() {
		dst = append(dst, `<ns:`...)
		dst = append(dst, el...)
		dst = append(dst, ` xmlns:ns="`+ns2011+`">`...)
		if code != "" {
			dst = append(dst, "<ns:Code>"...)
			dst = append(dst, code...)
			dst = append(dst, "</ns:Code>"...)
		}
		dst = append(dst, "<ns:Reason>"...)
		dst = appendText(dst, reason)
		dst = append(dst, "</ns:Reason><ns:Detail>"...)
		dst = appendText(dst, f.Detail)
		dst = append(dst, "</ns:Detail></ns:"...)
		dst = append(dst, el...)
		return append(dst, '>')
	}
	prefix, ns := "iis", ns2014
	if f.Kind.isHub() {
		prefix, ns = "hub", nsHub
	}
	dst = append(dst, '<')
	dst = append(dst, prefix...)
	dst = append(dst, ':')
	dst = append(dst, el...)
	dst = append(dst, ` xmlns:`...)
	dst = append(dst, prefix...)
	dst = append(dst, `="`...)
	dst = append(dst, ns...)
	dst = append(dst, `">`...)
	switch {
	case f.Kind == FaultMessageTooLarge:
		dst = fmt.Appendf(dst, "<iis:Size>%d</iis:Size><iis:MaxSize>%d</iis:MaxSize>", max(f.Size, 0), max(f.MaxSize, 0))
	case f.Kind.isHub():
		dst = append(dst, "<hub:DestinationId>"...)
		dst = appendText(dst, in.destID)
		dst = append(dst, "</hub:DestinationId>"...)
		if f.Kind != FaultUnknownDestination {
			dst = append(dst, "<hub:DestinationUri>"...)
			dst = appendText(dst, in.destURI)
			dst = append(dst, "</hub:DestinationUri>"...)
		}
	}
	dst = append(dst, "</"...)
	dst = append(dst, prefix...)
	dst = append(dst, ':')
	dst = append(dst, el...)
	dst = append(dst, '>')
	if code != "" {
		dst = append(dst, "<Code>"...)
		dst = append(dst, code...)
		dst = append(dst, "</Code>"...)
	}
	dst = append(dst, "<Summary>"...)
	dst = appendText(dst, reason)
	dst = append(dst, "</Summary><Detail>"...)
	dst = appendText(dst, f.Detail)
	return append(dst, "</Detail>"...)
}

// send writes a SOAP envelope with the version's media type.
func send(w http.ResponseWriter, v Version, action string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType(v, action))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
