// Package field holds the leaf types every component's configuration uses:
// Error, a validation problem located by its configuration path, and Secret,
// a value that never prints. It imports only the standard library, so every
// room of the project may import it.
package field

import (
	"errors"
	"fmt"
)

// Error is one configuration problem at a dotted path such as
// "channels[0].source.mllp.addr".
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errorf returns an *Error for the field at path. The message must not
// contain secret or PHI values.
func Errorf(path, format string, args ...any) error {
	return &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Prefix puts prefix in front of the path of every *Error inside err (which
// may be a join of several) and returns the joined result. Errors that are not
// *Error are wrapped as errors at prefix. Prefix(p, nil) is nil.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range Flatten(err) {
		var fe *Error
		if errors.As(e, &fe) {
			p := prefix
			switch {
			case fe.Path == "":
			case fe.Path[0] == '[':
				p += fe.Path
			default:
				p += "." + fe.Path
			}
			out = append(out, &Error{Path: p, Msg: fe.Msg})
			continue
		}
		out = append(out, &Error{Path: prefix, Msg: e.Error()})
	}
	return errors.Join(out...)
}

// Flatten opens errors.Join trees into their leaves, so each problem keeps
// its own path; Flatten(nil) is empty.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Secret is a credential or key. It prints as "<secret>" in every format and
// marshals the same way, so a config dump or log line cannot leak it.
// Reveal returns the value to the one place that needs it.
type Secret struct{ value string }

// NewSecret wraps v.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the clear value. Call it only where the value is used.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

const redacted = "<secret>"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }
func (s *Secret) UnmarshalText(b []byte) error { s.value = string(b); return nil }
