package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"unicode/utf8"
)

// reply is what parseReply found in a response body.
type reply struct {
	version Version // of the envelope (SOAP12 when unknown)
	fault   *Fault  // a SOAP fault, or nil
	found   bool    // a response element was found (text may be empty)
	text    []byte  // XML-decoded text of its return element
}

// newDecoder returns a lenient token decoder: undeclared prefixes, unknown
// entities and unclosed elements do not stop it, and ISO-8859-1 and
// windows-1252 documents are transcoded.
func newDecoder(body []byte) *xml.Decoder {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.CharsetReader = charsetReader
	return d
}

// parseReply reads a SOAP response leniently, with encoding/xml token
// streaming: any namespace prefix (or none), either SOAP version, any
// letter case of Envelope, Header, Body and Fault, whitespace, CDATA, and
// the result element under any of its names (return, Hl7Message, EchoBack,
// message, *Result) at any depth of the body's response element. It stops
// at the first fault or result, so junk after it (a missing </Body>, an
// extra element) does not matter. The error is ErrNoReply, wrapped with the
// position of an XML syntax error if there was one; it never quotes the
// body.
func parseReply(body []byte) (reply, error) {
	var r reply
	d := newDecoder(body)
	depth := 0        // current element depth (root = 1)
	envelope := false // inside an Envelope
	bodyDepth := 0    // depth of the Body element, 0 = not inside one
	respDepth := 0    // depth of the body's response element, 0 = none yet
	respName := ""    // its local name
	var direct []byte // text directly inside the response element
	for {
		tok, err := d.Token()
		if err != nil {
			if r.found {
				return r, nil
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return r, fmt.Errorf("%w (XML syntax error at line %d)", ErrNoReply, se.Line)
			}
			if !errors.Is(err, io.EOF) {
				return r, fmt.Errorf("%w (%s)", ErrNoReply, safeErr(err))
			}
			return r, ErrNoReply
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			local := t.Name.Local
			switch {
			case !envelope:
				if strings.EqualFold(local, "Envelope") {
					envelope = true
					if t.Name.Space == nsSOAP11 {
						r.version = SOAP11
					}
				}
			case bodyDepth == 0 && strings.EqualFold(local, "Header"):
				if err := d.Skip(); err != nil {
					return r, fmt.Errorf("%w (unterminated header)", ErrNoReply)
				}
				depth--
			case bodyDepth == 0 && strings.EqualFold(local, "Body"):
				bodyDepth = depth
			case bodyDepth == 0:
				// Something between Envelope and Body; look inside it.
			case isFaultElement(t.Name, depth == bodyDepth+1):
				f, err := parseFault(d)
				if err != nil {
					return r, err
				}
				r.fault = f
				return r, nil
			case isResultName(local) && (respDepth != 0 || depth == bodyDepth+1):
				text, err := readText(d)
				if err != nil {
					return r, fmt.Errorf("%w (unterminated result element)", ErrNoReply)
				}
				r.found, r.text = true, text
				return r, nil
			case respDepth == 0 && depth == bodyDepth+1:
				respDepth, respName, direct = depth, local, direct[:0]
			}
		case xml.EndElement:
			if respDepth != 0 && depth == respDepth {
				// The response element ended without a result child: an
				// empty result (return is minOccurs=0 in some copies), or the
				// text sat directly in the response element. Any other body
				// child (not named *Response, no text) is skipped.
				text := bytes.TrimSpace(direct)
				if len(text) > 0 || len(respName) > len("response") && strings.HasSuffix(strings.ToLower(respName), "response") {
					r.found, r.text = true, text
					return r, nil
				}
				respDepth = 0
			}
			if bodyDepth != 0 && depth == bodyDepth {
				return r, ErrNoReply
			}
			depth--
		case xml.CharData:
			if respDepth != 0 && depth == respDepth {
				direct = append(direct, t...)
			}
		}
	}
}

// isFaultElement reports whether name is a SOAP Fault: "Fault" exactly, or
// any letter case when it is in a SOAP envelope namespace or is the body's
// first child. (The 2011 CDC detail element is "fault"; it lives inside
// Detail and is read by parseFault, never here.)
func isFaultElement(name xml.Name, bodyChild bool) bool {
	if name.Local == "Fault" {
		return true
	}
	if !strings.EqualFold(name.Local, "Fault") {
		return false
	}
	return bodyChild || name.Space == nsSOAP12 || name.Space == nsSOAP11
}

// isResultName reports whether local names a response's result element.
func isResultName(local string) bool {
	l := strings.ToLower(local)
	switch l {
	case "return", "hl7message", "echoback", "message":
		return true
	}
	return len(l) > len("result") && strings.HasSuffix(l, "result")
}

// readText returns the character data (CDATA included) inside the element
// whose start was just read, up to its end, nested elements' text
// included.
func readText(d *xml.Decoder) ([]byte, error) {
	var out []byte
	depth := 1
	for {
		tok, err := d.Token()
		if err != nil {
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return out, nil
			}
		case xml.CharData:
			out = append(out, t...)
		}
	}
}

// parseFault reads a Fault element (its start was just read) of either
// SOAP version: Code/Value or faultcode, Reason/Text or faultstring, and
// the first recognised CDC detail element under Detail/detail.
func parseFault(d *xml.Decoder) (*Fault, error) {
	f := &Fault{Kind: FaultOther}
	for {
		tok, err := d.Token()
		if err != nil {
			return f, nil // a truncated fault is still a fault
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return f, nil
		case xml.StartElement:
			switch strings.ToLower(t.Name.Local) {
			case "code":
				if err := readCode(d, f); err != nil {
					return f, nil
				}
			case "faultcode":
				s, err := readText(d)
				f.Code = strings.TrimSpace(string(s))
				if err != nil {
					return f, nil
				}
			case "reason":
				s, err := readText(d) // Text children (one per language); keep them all
				f.Reason = strings.Join(strings.Fields(string(s)), " ")
				if err != nil {
					return f, nil
				}
			case "faultstring":
				s, err := readText(d)
				f.Reason = strings.TrimSpace(string(s))
				if err != nil {
					return f, nil
				}
			case "detail":
				if err := readDetail(d, f); err != nil {
					return f, nil
				}
			default:
				if err := d.Skip(); err != nil {
					return f, nil
				}
			}
		}
	}
}

// readCode reads a SOAP 1.2 Code element: the first Value directly inside
// it is the code (a Subcode's Value is ignored).
func readCode(d *xml.Decoder, f *Fault) error {
	depth := 1
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && strings.EqualFold(t.Name.Local, "Value") && f.Code == "" {
				s, err := readText(d)
				f.Code = strings.TrimSpace(string(s))
				if err != nil {
					return err
				}
				depth--
			}
		case xml.EndElement:
			depth--
			if depth == 0 {
				return nil
			}
		case xml.CharData:
			if depth == 1 && f.Code == "" && len(bytes.TrimSpace(t)) > 0 {
				f.Code = strings.TrimSpace(string(t)) // <Code>soap:Receiver</Code>
			}
		}
	}
}

// readDetail reads a Detail element: the first child whose name is a CDC
// (or hub) fault sets Kind and is read for Code, Reason, Detail, Size and
// MaxSize. The IZ Gateway also puts unqualified Code, Summary and Detail
// siblings next to it; they fill CDCCode, CDCReason and Detail when those
// are empty. A detail with no recognised element keeps FaultOther and its
// text as Detail.
func readDetail(d *xml.Decoder, f *Fault) error {
	var loose []byte
	typed := false
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if !typed && f.Detail == "" {
				f.Detail = strings.TrimSpace(string(loose))
			}
			return nil
		case xml.CharData:
			loose = append(loose, t...)
		case xml.StartElement:
			kind, ok := faultKindOf(t.Name.Local)
			switch {
			case ok && !typed:
				typed = true
				f.Kind = kind
				if err := readCDCFault(d, f); err != nil {
					return err
				}
			case typed && cdcFaultField(f, t.Name.Local) != nil:
				s, err := readText(d)
				if dst := cdcFaultField(f, t.Name.Local); *dst == "" {
					*dst = strings.TrimSpace(string(s))
				}
				if err != nil {
					return err
				}
			default:
				s, err := readText(d)
				loose = append(loose, s...)
				if err != nil {
					return err
				}
			}
		}
	}
}

// readCDCFault reads the children of a CDC fault element.
func readCDCFault(d *xml.Decoder, f *Fault) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			s, err := readText(d)
			v := strings.TrimSpace(string(s))
			switch strings.ToLower(t.Name.Local) {
			case "code":
				f.CDCCode = v
			case "reason":
				f.CDCReason = v
			case "detail":
				f.Detail = strings.Join(strings.Fields(v), " ")
			case "size":
				f.Size, _ = strconv.ParseInt(v, 10, 64)
			case "maxsize":
				f.MaxSize, _ = strconv.ParseInt(v, 10, 64)
			}
			if err != nil {
				return err
			}
		}
	}
}

// rootPart returns the SOAP part of a multipart/related body (MTOM/XOP or
// SOAP with attachments): the part the start parameter names, else the
// first. Any other body is returned as it is.
func rootPart(contentType string, body []byte) []byte {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return body
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	start := params["start"]
	var first []byte
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		b, err := io.ReadAll(p)
		if err != nil {
			break
		}
		if start == "" || p.Header.Get("Content-ID") == start {
			return b
		}
		if first == nil {
			first = b
		}
	}
	if first != nil {
		return first
	}
	return body
}

// safeErr returns a description of a decoder error that cannot quote the
// document.
func safeErr(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of document"
	}
	return "unreadable document"
}

// charsetReader lets the decoder read documents that declare a charset
// other than UTF-8: US-ASCII as is, ISO-8859-1 and windows-1252 transcoded.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		return transcode(in, nil)
	case "windows-1252", "cp1252":
		return transcode(in, &cp1252)
	}
	return nil, errors.New("soap: unsupported charset")
}

// transcode reads all of in as a single-byte charset and returns it as
// UTF-8; high maps 0x80..0x9F (nil = ISO-8859-1, where they are C1 codes).
func transcode(in io.Reader, high *[32]rune) (io.Reader, error) {
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		switch {
		case c < utf8.RuneSelf:
			out = append(out, c)
		case high != nil && c < 0xA0:
			out = utf8.AppendRune(out, high[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return bytes.NewReader(out), nil
}

// cp1252 maps windows-1252 bytes 0x80..0x9F; undefined ones map to U+FFFD.
var cp1252 = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

// cdcFaultField is the field of f that a CDC fault's child element name
// (Detail, Code, Summary; any case) fills, or nil.
func cdcFaultField(f *Fault, name string) *string {
	switch strings.ToLower(name) {
	case "detail":
		return &f.Detail
	case "code":
		return &f.CDCCode
	case "summary":
		return &f.CDCReason
	}
	return nil
}
