package soap

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"unicode/utf8"
)

// appendEscaped appends s to dst as XML character data: & < > become
// entities and CR becomes &#xD;, so that it survives the line-end
// normalisation every XML parser applies (a raw CR would arrive as LF).
// Everything else is copied byte for byte. Invalid UTF-8 and the control
// characters XML 1.0 cannot carry even as references fail with
// ErrInvalidChar and the byte offset (never the content).
func appendEscaped(dst, s []byte) ([]byte, error) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch c {
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\r':
				esc = "&#xD;"
			case '\n', '\t':
			default:
				if c < 0x20 {
					return dst, fmt.Errorf("%w (control character at byte %d)", ErrInvalidChar, i)
				}
			}
			if esc != "" {
				dst = append(dst, s[last:i]...)
				dst = append(dst, esc...)
				last = i + 1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			return dst, fmt.Errorf("%w (invalid UTF-8 at byte %d)", ErrInvalidChar, i)
		}
		i += n
	}
	return append(dst, s[last:]...), nil
}

// xmlSafe reports whether appendEscaped accepts s.
func xmlSafe(s []byte) bool {
	_, err := appendEscaped(nil, s)
	return err == nil
}

// appendAttr appends s escaped for a double-quoted XML attribute.
func appendAttr(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		default:
			if c < 0x20 {
				dst = append(dst, ' ')
			} else {
				dst = append(dst, c)
			}
		}
	}
	return dst
}

// appendText appends s (a string the program built or a validated
// configuration value) as character data; what XML cannot carry becomes a
// space or U+FFFD instead of failing.
func appendText(dst []byte, s string) []byte {
	for _, r := range s { // invalid UTF-8 arrives as U+FFFD
		switch {
		case r == '&':
			dst = append(dst, "&amp;"...)
		case r == '<':
			dst = append(dst, "&lt;"...)
		case r == '>':
			dst = append(dst, "&gt;"...)
		case r == '\r':
			dst = append(dst, "&#xD;"...)
		case r < 0x20 && r != '\t' && r != '\n', r == 0xFFFE, r == 0xFFFF:
			dst = append(dst, ' ')
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// request is one SOAP request to encode.
type request struct {
	v         *variant
	version   Version
	op        op
	user      []byte // already escaped
	password  []byte // already escaped
	facility  []byte // already escaped
	payload   []byte // HL7 (submit) or echo text (connectivity), raw
	to        string // endpoint, for wsa:To
	messageID string // for wsa:MessageID
	hubID     string
	hubURI    string
}

// encodeRequest appends the envelope of r to dst. The only error is
// ErrInvalidChar for a payload XML cannot carry.
func encodeRequest(dst []byte, r *request) ([]byte, error) {
	v := r.v
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<soap:Envelope xmlns:soap="`...)
	dst = append(dst, envNS(r.version)...)
	dst = append(dst, `" xmlns:iis="`...)
	dst = append(dst, v.ns...)
	dst = append(dst, '"')
	if v.wsa {
		dst = append(dst, ` xmlns:wsa="`+nsWSA+`"`...)
	}
	if v.hub {
		dst = append(dst, ` xmlns:hub="`+nsHub+`"`...)
	}
	dst = append(dst, '>')
	if v.wsa || v.hub {
		dst = append(dst, "<soap:Header>"...)
		if v.wsa {
			dst = append(dst, "<wsa:Action>"...)
			dst = append(dst, v.actions[r.op]...)
			dst = append(dst, "</wsa:Action><wsa:MessageID>"...)
			dst = appendText(dst, r.messageID)
			dst = append(dst, "</wsa:MessageID><wsa:To>"...)
			dst = appendText(dst, r.to)
			dst = append(dst, "</wsa:To>"...)
		}
		if v.hub {
			dst = append(dst, "<hub:HubRequestHeader><hub:DestinationId>"...)
			dst = appendText(dst, r.hubID)
			dst = append(dst, "</hub:DestinationId>"...)
			if r.hubURI != "" {
				dst = append(dst, "<hub:DestinationUri>"...)
				dst = appendText(dst, r.hubURI)
				dst = append(dst, "</hub:DestinationUri>"...)
			}
			dst = append(dst, "</hub:HubRequestHeader>"...)
		}
		dst = append(dst, "</soap:Header>"...)
	}
	dst = append(dst, "<soap:Body>"...)
	var err error
	switch r.op {
	case opSubmit:
		dst = openTag(dst, v.submit)
		dst = element(dst, v.username, r.user)
		dst = element(dst, v.password, r.password)
		dst = element(dst, v.facility, r.facility)
		dst = openTag(dst, v.message)
		if dst, err = appendEscaped(dst, r.payload); err != nil {
			return dst, err
		}
		dst = closeTag(dst, v.message)
		dst = closeTag(dst, v.submit)
	case opConnectivity:
		dst = openTag(dst, v.connect)
		dst = openTag(dst, v.echo)
		if dst, err = appendEscaped(dst, r.payload); err != nil {
			return dst, err
		}
		dst = closeTag(dst, v.echo)
		dst = closeTag(dst, v.connect)
	}
	dst = append(dst, "</soap:Body></soap:Envelope>"...)
	return dst, nil
}

func openTag(dst []byte, name string) []byte {
	dst = append(dst, "<iis:"...)
	dst = append(dst, name...)
	return append(dst, '>')
}

func closeTag(dst []byte, name string) []byte {
	dst = append(dst, "</iis:"...)
	dst = append(dst, name...)
	return append(dst, '>')
}

func element(dst []byte, name string, escaped []byte) []byte {
	dst = openTag(dst, name)
	dst = append(dst, escaped...)
	return closeTag(dst, name)
}

// newMessageID returns a random (version 4) UUID URN for wsa:MessageID.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return "urn:uuid:" + string(s[:])
}

// normalizeHL7 turns the text of a return (or hl7Message) element into an
// HL7 message with CR segment terminators:
//   - surrounding whitespace is trimmed;
//   - text that is not HL7 (does not start with MSH, FHS or BHS and a
//     field separator) but decodes to HL7 as URL-encoding or base64 is
//     decoded (registries that send the ACK that way exist);
//   - LF and CRLF become CR, blanks before a segment and empty segments
//     are dropped (pretty-printed CDATA), and an HL7 message gets a CR
//     after its last segment.
//
// Text that is not HL7 in any form (an IIS that answers "SUCCESS") is
// returned trimmed, with its line ends turned into CR.
func normalizeHL7(text []byte) []byte {
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		return []byte{}
	}
	if !looksHL7(t) {
		if d, ok := decodeURLEncoded(t); ok {
			t = bytes.TrimSpace(d)
		} else if d, ok := decodeBase64(t); ok {
			t = bytes.TrimSpace(d)
		}
	}
	hl7 := looksHL7(t)
	out := make([]byte, 0, len(t)+1)
	for len(t) > 0 {
		i := bytes.IndexAny(t, "\r\n")
		var seg []byte
		if i < 0 {
			seg, t = t, nil
		} else {
			seg, t = t[:i], t[i+1:]
		}
		seg = bytes.TrimLeft(seg, " \t")
		if len(seg) == 0 {
			continue
		}
		out = append(out, seg...)
		out = append(out, '\r')
	}
	if !hl7 && len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out
}

// looksHL7 reports whether t starts like an HL7 v2 message or batch: MSH,
// FHS or BHS followed by a field separator.
func looksHL7(t []byte) bool {
	if len(t) < 4 {
		return false
	}
	switch string(t[:3]) {
	case "MSH", "FHS", "BHS":
	default:
		return false
	}
	c := t[3]
	return c > ' ' && c < utf8.RuneSelf && c != '%' && !isAlnum(c)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// decodeURLEncoded decodes t as application/x-www-form-urlencoded text if
// it has escapes and the result is HL7.
func decodeURLEncoded(t []byte) ([]byte, bool) {
	if bytes.IndexByte(t, '%') < 0 || bytes.ContainsAny(t, "\r\n|") {
		return nil, false
	}
	s, err := url.QueryUnescape(string(t))
	if err != nil || !looksHL7([]byte(s)) {
		return nil, false
	}
	return []byte(s), true
}

// decodeBase64 decodes t (standard alphabet, padded or not, wrapped or
// not) if it starts as the encoding of MSH, FHS or BHS does and decodes to
// HL7.
func decodeBase64(t []byte) ([]byte, bool) {
	if len(t) < 8 {
		return nil, false
	}
	switch string(t[:4]) {
	case "TVNI", "RkhT", "QkhT": // "MSH", "FHS", "BHS"
	default:
		return nil, false
	}
	clean := make([]byte, 0, len(t))
	for _, c := range t {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		clean = append(clean, c)
	}
	enc := base64.StdEncoding
	if len(clean)%4 != 0 {
		enc = base64.RawStdEncoding
		clean = bytes.TrimRight(clean, "=")
	}
	out := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(out, clean)
	if err != nil || !looksHL7(out[:n]) {
		return nil, false
	}
	return out[:n], true
}
